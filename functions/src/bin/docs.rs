#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    game_functions::lambda::serve_docs("docs", &game_functions::docs_assets::DOCS_PAGE).await
}
