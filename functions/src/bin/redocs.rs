#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    game_functions::lambda::serve_docs("redocs", &game_functions::docs_assets::REDOCS_PAGE).await
}
