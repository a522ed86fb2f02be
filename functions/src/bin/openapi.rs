#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    game_functions::lambda::serve_docs("openapi", &game_functions::docs_assets::OPENAPI).await
}
