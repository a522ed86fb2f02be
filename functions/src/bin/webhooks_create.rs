#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    game_functions::lambda::serve(&game_functions::routes::WEBHOOKS_CREATE).await
}
