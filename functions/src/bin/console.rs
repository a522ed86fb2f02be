#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    game_functions::lambda::serve_docs("console", &game_functions::docs_assets::CONSOLE_PAGE).await
}
