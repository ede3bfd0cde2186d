//! The transform Lambda's entry point: clients are built once per container.

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
    zipster_aws::handler::run(async |event| handle(event, storage, notify, config).await).await
}
