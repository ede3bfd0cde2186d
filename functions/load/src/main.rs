//! The load Lambda's entry point: clients, credentials and the pool are set up once
//! per container, not per invocation.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use tracing::info;
use zipster_aws::{s3::S3Storage, sns::SnsNotify};
use zipster_db::connect::{Limits, describe, lazy_pool};
use zipster_load::{Config, Loader, credentials};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = |name: &str| std::env::var(name).ok();
    let config = Config::from_env(env)?;
    let aws = zipster_aws::load_config().await;
    let options = credentials::database_options(&aws, env).await?;
    info!(database = %describe(&options), "load function starting");
    let loader = Loader {
        storage: S3Storage::new(&aws),
        notify: SnsNotify::new(&aws),
        pool: lazy_pool(options, Limits::default()),
        config,
    };
    let loader = &loader;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        loader
            .handle(&event.payload)
            .await
            .map_err(|error| Diagnostic { error_type: error.error_type().to_owned(), error_message: error.to_string() })
    }))
    .await
}
