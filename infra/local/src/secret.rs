//! The deployment secret, locally: moto's Secrets Manager stands in for AWS's. The dev API
//! creates the secret when it is absent, then loads it through the production path
//! (`AppContext::load`), so local runs exercise exactly what a cold start does.

use aws_sdk_secretsmanager::Client;

/// The secret the dev API uses when `GAME_SECRET_ARN` is not set.
pub const LOCAL_SECRET_ID: &str = "game/local";

/// A fresh secret document: a random root key (what template.yaml's GenerateSecretString
/// makes) and an HS256 key, so local bearer tokens can be minted for experiments.
pub fn new_secret_document() -> String {
    let random = || uuid::Uuid::new_v4().simple().to_string();
    serde_json::json!({
        "rootKey": format!("{}{}", random(), random()),
        "jwtHs256Key": format!("{}{}", random(), random()),
    })
    .to_string()
}

/// Creates `secret_id` with a fresh document unless it exists. Answers whether it created it.
pub async fn ensure_secret(client: &Client, secret_id: &str) -> Result<bool, String> {
    match client.describe_secret().secret_id(secret_id).send().await {
        Ok(_) => return Ok(false),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) => {}
        Err(error) => return Err(format!("secret {secret_id}: {error:?}")),
    }
    client
        .create_secret()
        .name(secret_id)
        .description("GAME local key material (created by game-dev)")
        .secret_string(new_secret_document())
        .send()
        .await
        .map_err(|e| format!("creating secret {secret_id}: {e:?}"))?;
    Ok(true)
}
