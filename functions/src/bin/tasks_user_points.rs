#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    game_functions::lambda::serve("tasks_user_points").await
}
