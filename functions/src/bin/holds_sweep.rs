#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    game_functions::lambda::serve_worker("holds_sweep").await
}
