#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    game_functions::lambda::serve("points_task_action").await
}
