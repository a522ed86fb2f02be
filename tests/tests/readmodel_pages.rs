//! The points read models at scale: paged by a cursor that crosses tasks (and a user's awards),
//! bounded in rows and bytes, totals from the aggregates, tasks read concurrently.

use game_functions::api::readmodels::{MAX_POINTS_PAGE_AWARD_BYTES, TASK_READ_CONCURRENCY};
use game_tests::{RequestCounter, TestApp, TestResponse, json};
use serde_json::Value;

/// `tasks` tasks t00.., each awarded to `users` users u000.. (user i gets i % 3 + 1 awards on
/// every third task, one elsewhere), with the default strategy.
async fn game(app: &TestApp, tasks: usize, users: usize) -> String {
    let game_id = app
        .create_game(
            &game_tests::unique("big"),
            json!({"params": [{"key": "variable_basic_points", "value": 10}]}),
        )
        .await;
    let game_id = &game_id;
    // The tasks, then their awards: each task's one after the other (a user's repeats on a
    // task would race each other), the tasks side by side. The same rows and award counts as
    // one award at a time, in a fraction of the time.
    futures_util::future::join_all((0..tasks).map(|t| async move {
        app.create_task(game_id, &format!("t{t:02}"), json!({}))
            .await;
    }))
    .await;
    futures_util::future::join_all((0..tasks).map(|t| async move {
        for u in 0..users {
            let repeat = if t % 3 == 0 { u % 3 + 1 } else { 1 };
            for r in 0..repeat {
                app.award_until_committed(
                    game_id,
                    &format!("t{t:02}"),
                    &format!("u{u:03}"),
                    &format!("seed-{t}-{u}-{r}"),
                )
                .await;
            }
        }
    }))
    .await;
    game_id.clone()
}

/// (task, user, points, timesAwarded, awards in pointsData) of every row of a game answer.
fn rows(body: &Value) -> Vec<(String, String, Value, u64, usize)> {
    let mut out = Vec::new();
    for task in body["task"].as_array().unwrap() {
        for row in task["points"].as_array().unwrap() {
            out.push((
                task["externalTaskId"].as_str().unwrap().to_owned(),
                row["externalUserId"].as_str().unwrap().to_owned(),
                row["points"].clone(),
                row["timesAwarded"].as_u64().unwrap(),
                row["pointsData"].as_array().map_or(0, Vec::len),
            ));
        }
    }
    out
}

/// `GET /games/{id}/points/details`, answered 200.
async fn game_details(app: &TestApp, game_id: &str) -> TestResponse {
    let answer = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/points/details"),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer
}

/// Every page of a game route, following `nextToken`.
async fn walk(app: &TestApp, path: &str, page_size: usize) -> Vec<TestResponse> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let url = match &token {
            None => format!("{path}?pageSize={page_size}"),
            Some(t) => format!("{path}?pageSize={page_size}&nextToken={t}"),
        };
        let page = app.call("GET", &url, None).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert_eq!(page.body["pageSize"], page_size);
        token = page.body["nextToken"].as_str().map(str::to_owned);
        pages.push(page);
        assert!(pages.len() < 200, "the pages never end");
        if token.is_none() {
            return pages;
        }
    }
}

/// The rows of all pages, a row split over pages merged back (same totals, awards summed).
fn merged(pages: &[TestResponse]) -> Vec<(String, String, Value, u64, usize)> {
    let mut all: Vec<(String, String, Value, u64, usize)> = Vec::new();
    for page in pages {
        for row in rows(&page.body) {
            match all.last_mut() {
                Some(last) if last.0 == row.0 && last.1 == row.1 => {
                    assert_eq!(
                        (&last.2, last.3),
                        (&row.2, row.3),
                        "a repeated row keeps its totals"
                    );
                    last.4 += row.4;
                }
                _ => all.push(row),
            }
        }
    }
    all
}

#[tokio::test]
async fn pages_cross_tasks_and_together_equal_the_whole_game() {
    let app = TestApp::new().await;
    let game_id = game(&app, 5, 4).await;
    let path = format!("/api/v1/games/{game_id}/points");
    let whole = app.call("GET", &path, None).await;
    assert_eq!(whole.status, 200, "{}", whole.text);
    assert_eq!(
        whole.body["nextToken"],
        Value::Null,
        "20 rows fit the default page"
    );
    assert_eq!(whole.body["pageSize"], 1000);
    let everything = rows(&whole.body);
    assert_eq!(everything.len(), 20);
    // Totals are each user's exact sums: user 2 on t00 has 3 awards.
    let u2 = everything
        .iter()
        .find(|r| r.0 == "t00" && r.1 == "u002")
        .unwrap();
    assert_eq!(u2.3, 3);
    for size in [1, 3, 4, 7] {
        let pages = walk(&app, &path, size).await;
        assert_eq!(pages.len(), 20usize.div_ceil(size), "pageSize {size}");
        for page in &pages {
            assert!(rows(&page.body).len() <= size);
        }
        assert_eq!(merged(&pages), everything, "pageSize {size}");
    }
    let details = format!("/api/v1/games/{game_id}/points/details");
    let whole_details = app.call("GET", &details, None).await;
    let with_awards = rows(&whole_details.body);
    for row in &with_awards {
        assert_eq!(row.3 as usize, row.4, "every award of {row:?} is listed");
    }
    assert_eq!(merged(&walk(&app, &details, 3).await), with_awards);
}

#[tokio::test]
async fn a_task_page_keeps_games_array_and_puts_the_cursor_in_headers() {
    let app = TestApp::new().await;
    let game_id = game(&app, 1, 5).await;
    for route in ["points", "points/details"] {
        let path = format!("/api/v1/games/{game_id}/tasks/t00/{route}");
        let whole = app.call("GET", &path, None).await;
        assert_eq!(whole.status, 200, "{}", whole.text);
        assert_eq!(whole.body.as_array().unwrap().len(), 5);
        assert!(whole.headers.get("next-token").is_none());
        let mut users = Vec::new();
        let mut url = format!("{path}?pageSize=2");
        loop {
            let page = app.call("GET", &url, None).await;
            assert_eq!(page.status, 200, "{}", page.text);
            assert!(page.body.as_array().unwrap().len() <= 2);
            users.extend(
                page.body
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["externalUserId"].clone()),
            );
            let Some(token) = page.headers.get("next-token") else {
                break;
            };
            let token = token.to_str().unwrap();
            let link = page.headers.get("link").unwrap().to_str().unwrap();
            assert_eq!(
                link,
                format!("<?pageSize=2&nextToken={token}>; rel=\"next\"")
            );
            url = format!("{path}?pageSize=2&nextToken={token}");
        }
        let all: Vec<Value> = whole
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["externalUserId"].clone())
            .collect();
        assert_eq!(users, all, "{route}");
    }
}

#[tokio::test]
async fn a_details_answer_never_exceeds_its_byte_bound() {
    // The bound as configured (1 MiB deployed, checked below), lowered so that a few awards of
    // 3 KB fill pages: the paging is the same code, without writing megabytes of awards.
    const BOUND: usize = 32 * 1024;
    assert_eq!(
        game_functions::context::Config::for_table("t").points_page_award_bytes,
        MAX_POINTS_PAGE_AWARD_BYTES
    );
    let app = TestApp::configured(|c| c.points_page_award_bytes = BOUND).await;
    let game_id = app.create_game(&game_tests::unique("fat"), json!({})).await;
    app.create_task(&game_id, "t", json!({})).await;
    app.create_task(&game_id, "solo", json!({})).await;
    // 3 users × 8 awards of ~3 KB each: ~73 KB, over twice the bound.
    let blob = "x".repeat(3_000);
    for user in ["ana", "bob", "cid"] {
        for i in 0..8 {
            let response = app
                .call(
                    "POST",
                    &format!("/api/v1/games/{game_id}/tasks/t/points"),
                    Some(json!({"externalUserId": user, "data": {"i": i, "blob": blob}})),
                )
                .await;
            assert_eq!(response.status, 200, "{}", response.text);
        }
    }
    let path = format!("/api/v1/games/{game_id}/tasks/t/points/details");
    let mut url = path.clone();
    let mut per_user: Vec<(String, usize)> = Vec::new();
    let mut pages = 0;
    loop {
        let page = app.call("GET", &url, None).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(
            page.bytes.len() <= BOUND + BOUND / 8,
            "an answer of {} bytes",
            page.bytes.len()
        );
        pages += 1;
        for row in page.body.as_array().unwrap() {
            assert_eq!(row["timesAwarded"], 8, "a continued row keeps its totals");
            let user = row["externalUserId"].as_str().unwrap().to_owned();
            let n = row["pointsData"].as_array().unwrap().len();
            assert!(n > 0);
            match per_user.last_mut() {
                Some((last, count)) if *last == user => *count += n,
                _ => per_user.push((user, n)),
            }
        }
        let Some(token) = page.headers.get("next-token") else {
            break;
        };
        url = format!("{path}?nextToken={}", token.to_str().unwrap());
    }
    assert!(pages >= 3, "73 KB cannot fit two pages of 32 KB");
    assert_eq!(
        per_user,
        [
            ("ana".to_owned(), 8),
            ("bob".to_owned(), 8),
            ("cid".to_owned(), 8)
        ],
        "every award exactly once, in order"
    );
    // A user bigger than a page: ~46 KB of awards for one user continue on the next page.
    let path = format!("/api/v1/games/{game_id}/tasks/solo/points/details");
    for i in 0..15 {
        let response = app
            .call(
                "POST",
                &format!("/api/v1/games/{game_id}/tasks/solo/points"),
                Some(json!({"externalUserId": "dan", "data": {"i": i, "blob": blob}})),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
    }
    let first = app.call("GET", &path, None).await;
    let rows = first.body.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["timesAwarded"], 15);
    let listed = rows[0]["pointsData"].as_array().unwrap().len();
    assert!(listed < 15, "{listed}");
    let token = first.headers.get("next-token").unwrap().to_str().unwrap();
    let second = app
        .call("GET", &format!("{path}?nextToken={token}"), None)
        .await;
    let rows = second.body.as_array().unwrap();
    assert_eq!(rows[0]["externalUserId"], "dan");
    assert_eq!(rows[0]["timesAwarded"], 15);
    assert_eq!(rows[0]["pointsData"].as_array().unwrap().len(), 15 - listed);
    assert!(second.headers.get("next-token").is_none());
    assert_eq!(
        rows[0]["pointsData"][0]["data"]["i"], listed,
        "resumes after the last award listed"
    );
}

#[tokio::test]
async fn twenty_tasks_are_read_concurrently_and_a_small_page_reads_only_what_it_needs() {
    let counter = RequestCounter::default();
    let app = TestApp::with_client(game_tests::dynamodb_client_with(counter.clone()).await).await;
    let game_id = game(&app, 20, 3).await;
    let queries = |ops: Vec<String>| ops.iter().filter(|op| *op == "Query").count();

    counter.take();
    let whole = app
        .call("GET", &format!("/api/v1/games/{game_id}/points"), None)
        .await;
    assert_eq!(whole.status, 200, "{}", whole.text);
    assert_eq!(rows(&whole.body).len(), 60);
    // The tasks, then one query of aggregates per task (never the awards).
    assert_eq!(queries(counter.take()), 1 + 20);

    game_details(&app, &game_id).await;
    // The tasks, then per task its aggregates and one range of its awards.
    assert_eq!(queries(counter.take()), 1 + 20 * 2);

    // One task's worth: the first tasks in flight, not all twenty.
    let small = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/points?pageSize=3"),
            None,
        )
        .await;
    assert_eq!(rows(&small.body).len(), 3);
    let read = queries(counter.take());
    assert!(
        (2..=2 + TASK_READ_CONCURRENCY).contains(&read),
        "{read} queries"
    );
}

#[tokio::test]
async fn a_game_details_page_is_two_sequential_round_trips() {
    let trips = game_tests::RoundTrips::default();
    let app = TestApp::with_client(game_tests::dynamodb_client_with(trips.clone()).await).await;
    let game_id = game(&app, 3, 2).await;
    trips.take();
    let details = game_details(&app, &game_id).await;
    for row in rows(&details.body) {
        assert_eq!(row.3 as usize, row.4, "every award of {row:?} is listed");
    }
    assert_eq!(
        trips.take(),
        [
            vec!["GetItem", "Query"],
            vec!["Query", "Query", "Query", "Query", "Query", "Query"]
        ],
        "the game with its tasks, then every task's totals with its first awards"
    );
}

#[tokio::test]
async fn details_read_while_awards_land_list_every_award_their_totals_count() {
    let app = TestApp::new().await;
    let game_id = app
        .create_game(&game_tests::unique("busy"), json!({}))
        .await;
    app.create_task(&game_id, "t", json!({})).await;
    let (app, game_id) = (&app, &game_id);
    let done = std::sync::atomic::AtomicBool::new(false);
    let done = &done;
    let writers = futures_util::future::join_all((0..6).map(|u| async move {
        for i in 0..6 {
            app.award_until_committed(game_id, "t", &format!("user-{u}"), &format!("busy-{u}-{i}"))
                .await;
        }
    }));
    let reader = || async {
        let mut reads = 0;
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            let answer = game_details(app, game_id).await;
            // The read-ahead of awards runs beside the totals: an award that lands between
            // the two must not leave a row with fewer awards than its total counts.
            for row in rows(&answer.body) {
                assert!(row.4 as u64 >= row.3, "{row:?} misses an award it counts");
            }
            reads += 1;
        }
        reads
    };
    let writers = async {
        writers.await;
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    };
    let ((), a, b, c) = tokio::join!(writers, reader(), reader(), reader());
    assert!(
        a + b + c > 3,
        "the reads overlapped the awards ({a}, {b}, {c})"
    );
}

#[tokio::test]
async fn bad_paging_is_the_clients_error() {
    let app = TestApp::new().await;
    let game_id = game(&app, 2, 2).await;
    let other = game(&app, 2, 2).await;
    let path = format!("/api/v1/games/{game_id}/points");
    for size in ["0", "1001", "x"] {
        app.call("GET", &format!("{path}?pageSize={size}"), None)
            .await
            .assert_problem(422, "invalid_page_size");
    }
    app.call("GET", &format!("{path}?page=2"), None)
        .await
        .assert_problem(422, "unsupported_pagination");
    app.call("GET", &format!("{path}?nextToken=garbage"), None)
        .await
        .assert_problem(400, "invalid_cursor");
    // A cursor of one task used on another task's route.
    let first = app
        .call(
            "GET",
            &format!("/api/v1/games/{other}/tasks/t00/points?pageSize=1"),
            None,
        )
        .await;
    let token = first
        .headers
        .get("next-token")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    app.call(
        "GET",
        &format!("/api/v1/games/{other}/tasks/t01/points?nextToken={token}"),
        None,
    )
    .await
    .assert_problem(400, "invalid_cursor");
    // A cursor naming a task this game does not have.
    let page = app
        .call(
            "GET",
            &format!("/api/v1/games/{other}/points?pageSize=1"),
            None,
        )
        .await;
    let token = page.body["nextToken"].as_str().unwrap().to_owned();
    let renamed = game_functions::domain::pages::Cursor {
        task: "nope".into(),
        ..game_functions::domain::pages::Cursor::decode(&token).unwrap()
    };
    app.call(
        "GET",
        &format!("{path}?nextToken={}", renamed.encode()),
        None,
    )
    .await
    .assert_problem(400, "invalid_cursor");
}

/// The numbers of docs/benchmarks.md: a game of 20 tasks × 1,000 users (20,000 awards seeded
/// through the award route; `GAME_BENCH_USERS` for another count), then each read model's
/// requests and latency. Not a check: run it with `-- --ignored readmodel_pages::bench`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark (seeds 20,000 awards): run on demand"]
async fn bench_twenty_tasks_by_a_thousand_users() {
    let counter = RequestCounter::default();
    let app: &'static TestApp = Box::leak(Box::new(
        TestApp::with_client(game_tests::dynamodb_client_with(counter.clone()).await).await,
    ));
    let users: usize = std::env::var("GAME_BENCH_USERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let tasks = 20;
    let game_id = app
        .create_game(&game_tests::unique("bench"), json!({}))
        .await;
    for t in 0..tasks {
        app.create_task(&game_id, &format!("t{t:02}"), json!({}))
            .await;
    }
    let seeding = std::time::Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let game_id = game_id.clone();
        workers.spawn(async move {
            let mut n = worker;
            while n < tasks * users {
                let (t, u) = (n % tasks, n / tasks);
                let response = app
                    .call(
                        "POST",
                        &format!("/api/v1/games/{game_id}/tasks/t{t:02}/points"),
                        Some(json!({"externalUserId": format!("u{u:04}")})),
                    )
                    .await;
                assert_eq!(response.status, 200, "{}", response.text);
                n += 16;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.unwrap();
    }
    println!(
        "seeded {} awards in {:.1} s",
        tasks * users,
        seeding.elapsed().as_secs_f64()
    );
    for path in [
        format!("/api/v1/games/{game_id}/points"),
        format!("/api/v1/games/{game_id}/points/details"),
        format!("/api/v1/games/{game_id}/points?pageSize=100"),
        format!("/api/v1/games/{game_id}/tasks/t00/points"),
        format!("/api/v1/games/{game_id}/tasks/t00/points/details"),
    ] {
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..11 {
            counter.take();
            let started = std::time::Instant::now();
            let page = app.call("GET", &path, None).await;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(page.status, 200, "{}", page.text);
            last = Some((counter.take(), page.bytes.len()));
        }
        times.sort_by(f64::total_cmp);
        let (ops, bytes) = last.unwrap();
        let queries = ops.iter().filter(|op| *op == "Query").count();
        println!(
            "{path}: p50 {:.1} ms, max {:.1} ms, {} requests ({queries} Query), {bytes} bytes",
            times[5],
            times[10],
            ops.len()
        );
    }
}

#[tokio::test]
async fn a_task_with_hundreds_of_awards_is_read_in_one_query() {
    let counter = RequestCounter::default();
    let app = TestApp::with_client(game_tests::dynamodb_client_with(counter.clone()).await).await;
    // 4 users × 60 awards: more than the 200 a query used to ask for.
    let game_id = app
        .create_game(&game_tests::unique("many"), json!({}))
        .await;
    app.create_task(&game_id, "t", json!({})).await;
    let (app, game_id) = (&app, &game_id);
    futures_util::future::join_all((0..4).map(|u| async move {
        for i in 0..60 {
            app.award_until_committed(game_id, "t", &format!("user-{u}"), &format!("many-{u}-{i}"))
                .await;
        }
    }))
    .await;
    let queries = |ops: Vec<String>| ops.iter().filter(|op| *op == "Query").count();
    for path in [
        format!("/api/v1/games/{game_id}/tasks/t/points/details"),
        format!("/api/v1/games/{game_id}/points/details"),
    ] {
        counter.take();
        let answer = app.call("GET", &path, None).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let task_route = path.contains("/tasks/");
        let listed: usize = if task_route {
            let users = answer.body.as_array().unwrap();
            users
                .iter()
                .map(|u| u["pointsData"].as_array().unwrap().len())
                .sum()
        } else {
            rows(&answer.body).iter().map(|r| r.4).sum()
        };
        assert_eq!(listed, 240, "{path}");
        // The aggregates, then the awards in one query (the game route reads its tasks first).
        let expected = if task_route { 2 } else { 3 };
        assert_eq!(queries(counter.take()), expected, "{path}");
    }
}
