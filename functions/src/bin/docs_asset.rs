#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    game_functions::lambda::serve_docs("docs_asset", &game_functions::docs_assets::UI_FILES).await
}
