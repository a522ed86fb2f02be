"""The README's walk-through, through a Python client generated from docs/openapi.json
(openapi-python-client): proves a client generated from the document works against the API.

  python3 api_walkthrough.py <base URL> <admin API key>

with the generated package `game_client` on PYTHONPATH (infra/scripts/api-checks.sh does both).
Exits 1 with the failing step on the first answer that is not what the README shows.
"""

import sys
import uuid

from game_client import AuthenticatedClient, Client
from game_client.api.games import games_create, games_get, games_list, games_strategy
from game_client.api.health import kpi_health_check
from game_client.api.points import games_points, points_award
from game_client.api.strategies import strategies_schema
from game_client.api.tasks import tasks_create, tasks_get
from game_client.api.users import users_wallet
from game_client.models import (
    AwardBody,
    AwardResponse,
    CreateGame,
    CreateTask,
    GamePoints,
    GameSaved,
    GameView,
    GameViewPage,
    KpiHealth,
    ParamInput,
    Problem,
    StrategySchema,
    StrategyView,
    TaskSaved,
    WalletView,
)

base_url, api_key = sys.argv[1], sys.argv[2]
steps = 0


def check(condition, what):
    global steps
    steps += 1
    if not condition:
        sys.exit(f"api_walkthrough.py: step {steps} failed: {what}")


public = Client(base_url=base_url, raise_on_unexpected_status=True)
client = AuthenticatedClient(
    base_url=base_url,
    token=api_key,
    prefix="",
    auth_header_name="X-API-Key",
    raise_on_unexpected_status=True,
)

health = kpi_health_check.sync(client=public)
check(isinstance(health, KpiHealth) and health.status == "KPI service is running", "health check")
schema = strategies_schema.sync("default", client=public)
check(
    isinstance(schema, StrategySchema)
    and any(v.name == "variable_bonus_points" for v in schema.variables),
    "the default strategy's schema",
)

# A fresh external id, so the walk-through can run against a table that already has city-walks.
external_game_id = f"city-walks-{uuid.uuid4().hex[:8]}"
created = games_create.sync_detailed(
    client=client,
    body=CreateGame(
        external_game_id=external_game_id,
        platform="web",
        params=[ParamInput(key="variable_bonus_points", value=20)],
    ),
)
check(created.status_code == 201 and isinstance(created.parsed, GameSaved), f"create game: {created.content!r}")
game_id = created.parsed.game_id
check(created.parsed.params[0].value == 20, "the game's param")

task = tasks_create.sync_detailed(
    game_id,
    client=client,
    body=CreateTask(
        external_task_id="walk-1",
        params=[ParamInput(key="variable_basic_points", value=2)],
    ),
)
check(task.status_code == 201 and isinstance(task.parsed, TaskSaved), f"create task: {task.content!r}")

game = games_get.sync(game_id, client=client)
check(isinstance(game, GameView) and game.external_game_id == external_game_id, "read the game")
read_task = tasks_get.sync(game_id, "walk-1", client=client)
check(isinstance(read_task, TaskSaved) and read_task.external_task_id == "walk-1", "read the task")
page = games_list.sync(client=client, pageSize=5)
check(isinstance(page, GameViewPage) and page.page_size == 5 and len(page.items) >= 1, "list games")
strategy = games_strategy.sync(game_id, client=client)
check(
    isinstance(strategy, StrategyView)
    and strategy.variables.additional_properties.get("variable_bonus_points") == 20,
    "the game's strategy with its params",
)

# Award points; the same Idempotency-Key replays the first answer.
first = points_award.sync_detailed(
    game_id, "walk-1", client=client, body=AwardBody(external_user_id="ana"), idempotency_key="walk-1-ana-001"
)
check(first.status_code == 200 and isinstance(first.parsed, AwardResponse), f"award: {first.content!r}")
replay = points_award.sync_detailed(
    game_id, "walk-1", client=client, body=AwardBody(external_user_id="ana"), idempotency_key="walk-1-ana-001"
)
check(
    replay.status_code == 200
    and replay.headers.get("idempotent-replayed") == "true"
    and replay.content == first.content,
    "the replayed award",
)
second = points_award.sync_detailed(
    game_id, "walk-1", client=client, body=AwardBody(external_user_id="ana"), idempotency_key="walk-1-ana-002"
)
check(second.status_code == 200 and isinstance(second.parsed, AwardResponse), "the second award")
total = first.parsed.points + second.parsed.points

wallet = users_wallet.sync("ana", client=client)
check(isinstance(wallet, WalletView) and wallet.wallet.points_balance >= total, "the wallet")
points = games_points.sync(game_id, client=client)
check(
    isinstance(points, GamePoints)
    and points.task[0].points[0].external_user_id == "ana"
    and points.task[0].points[0].times_awarded == 2
    and points.task[0].points[0].points == total,
    "the game's points",
)

# The same externalGameId again: 409 problem+json with the existing game's id.
again = games_create.sync_detailed(
    client=client, body=CreateGame(external_game_id=external_game_id, platform="web")
)
check(
    again.status_code == 409
    and isinstance(again.parsed, Problem)
    and again.parsed.code == "game_exists"
    and again.parsed.additional_properties.get("gameId") == game_id,
    "create the same game again",
)

print(f"api_walkthrough.py: {steps} steps of the README walk-through passed through the generated client")
