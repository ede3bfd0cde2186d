//! The load Lambda's entry point: clients, credentials and the pool are set up once
//! per container, not per invocation.

use tracing::info;
use zipster_aws::secrets::SecretsManager;
use zipster_aws::{s3::S3Storage, sns::SnsNotify};
use zipster_db::connect::{Limits, describe, lazy_pool};
use zipster_db::credentials::options_from_env;
use zipster_load::{Config, Loader};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = |name: &str| std::env::var(name).ok();
    let config = Config::from_env(env)?;
    let aws = zipster_aws::load_config().await;
    let secrets = SecretsManager::new(&aws);
    let options = options_from_env(env, async |arn| secrets.secret_string(arn).await).await?;
    info!(database = %describe(&options), "load function starting");
    let loader = Loader {
        storage: S3Storage::new(&aws),
        notify: SnsNotify::new(&aws),
        pool: lazy_pool(options, Limits { max_connections: config.database_connections, ..Limits::default() }),
        config,
    };
    let loader = &loader;
    zipster_aws::handler::run(async |event| loader.handle(&event).await).await
}
