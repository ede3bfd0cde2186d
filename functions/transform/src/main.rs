//! The transform Lambda's entry point: clients are built once per container.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use zipster_aws::{s3::S3Storage, sns::SnsNotify};
use zipster_transform::{Config, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env(|name| std::env::var(name).ok())?;
    let aws = zipster_aws::load_config().await;
    let storage = S3Storage::new(&aws);
    let notify = SnsNotify::new(&aws);
    let (storage, notify, config) = (&storage, &notify, &config);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        handle(event.payload, storage, notify, config)
            .await
            .map_err(|error| Diagnostic { error_type: error.error_type().to_owned(), error_message: error.to_string() })
    }))
    .await
}
