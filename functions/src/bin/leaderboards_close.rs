#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    game_functions::lambda::serve_worker("leaderboards_close").await
}
