//! Secrets Manager, reduced to what the functions need: a secret's text.
//!
//! Only the fetching is here. What the text means (the database login, with
//! `DATABASE_HOST` and friends) is `zipster_db::credentials`, which takes this as a
//! closure, so that neither crate depends on the other.

use aws_sdk_secretsmanager::error::DisplayErrorContext;

#[derive(Debug, thiserror::Error)]
#[error("reading secret {arn}: {message}")]
pub struct SecretError {
    pub arn: String,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self { client: aws_sdk_secretsmanager::Client::new(config) }
    }

    /// The secret's current string value; never logged or put in an error.
    pub async fn secret_string(&self, arn: &str) -> Result<String, SecretError> {
        let failed = |message: String| SecretError { arn: arn.to_owned(), message };
        let response = self
            .client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| failed(DisplayErrorContext(e).to_string()))?;
        response.secret_string().map(str::to_owned).ok_or_else(|| failed("the secret has no string value".to_owned()))
    }
}
