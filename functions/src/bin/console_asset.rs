#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    game_functions::lambda::serve_docs("console_asset", &game_functions::docs_assets::CONSOLE_FILES)
        .await
}
