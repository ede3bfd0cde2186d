//! The migrate Lambda's entry point: clients and the pool are set up once per container.

use tracing::info;
use zipster_aws::s3::S3Storage;
use zipster_aws::secrets::SecretsManager;
use zipster_db::connect::{Limits, describe, lazy_pool};
use zipster_db::credentials::options_from_env;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let aws = zipster_aws::load_config().await;
    let secrets = SecretsManager::new(&aws);
    let storage = S3Storage::new(&aws);
    let readiness = zipster_migrate::Readiness::from_env(|name| std::env::var(name).ok())?;
    // One connection by default: migrations take sqlx's lock and the seed runs after them.
    let connections = zipster_aws::config::Env::new(|name| std::env::var(name).ok()).database_connections(1)?;
    info!("migrate function starting");
    let (storage, secrets) = (&storage, &secrets);
    zipster_aws::handler::run(async |event| {
        // A fresh host may still be installing MariaDB or creating its users (the
        // secret has no CA certificate until it is done): wait for it, bounded,
        // reading the secret again on every attempt.
        let connect_options = async || {
            options_from_env(|name| std::env::var(name).ok(), async |arn| secrets.secret_string(arn).await).await
        };
        let (options, _) = zipster_migrate::wait_until_ready(connect_options, &readiness).await?;
        info!(database = %describe(&options), "database ready");
        // A pool per invocation: migrate runs once per deploy or seed.
        let pool = lazy_pool(options, Limits { max_connections: connections, ..Limits::default() });
        let result = zipster_migrate::handle(storage, &pool, &event).await;
        pool.close().await;
        result
    })
    .await
}
