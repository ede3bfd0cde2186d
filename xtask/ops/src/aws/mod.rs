//! The commands that act on a stage's AWS account: `build`, `deploy`, `diff`,
//! `destroy` and `seed-db --stage`.
//!
//! Each command is an async function over [`Clients`] and a [`Ui`] that returns a
//! report, so the moto tests drive the same code as the CLI and assert on the
//! report; [`cli`] parses arguments and prints. Nothing here knows about moto: the
//! endpoint comes from aws-config's usual chain (`AWS_ENDPOINT_URL` included).

pub mod artifacts;
pub mod build;
pub mod changeset;
pub mod cli;
pub mod deploy;
pub mod destroy;
pub mod events;
pub mod seed;
pub mod ui;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use aws_sdk_s3::error::DisplayErrorContext;
use zipster_infra::StageConfig;

pub use ui::Ui;

/// The repository root (xtask/ops is two levels down).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).map(Path::to_path_buf).unwrap_or_default()
}

/// The stage's settings from `infra/stages.toml`.
pub fn load_stage(root: &Path, name: &str) -> Result<StageConfig> {
    let path = root.join(zipster_infra::synth::STAGES_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(StageConfig::named(&text, name)?)
}

/// The stack of a stage: one per stage and region.
pub fn stack_name(stage: &StageConfig) -> String {
    stage.prefix()
}

/// Wraps an SDK error so the message names the operation and the resource, with
/// the service's own code and message (`DisplayErrorContext`), e.g.
/// `CreateChangeSet zipster-dev: ValidationError: ...`.
pub fn aws_error<E>(operation: &'static str, resource: impl Into<String>) -> impl FnOnce(E) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    let resource = resource.into();
    move |error| {
        let detail = DisplayErrorContext(&error).to_string();
        if looks_like_missing_credentials(&detail) {
            anyhow!("{operation} {resource}: {NO_CREDENTIALS}")
        } else {
            anyhow!("{operation} {resource}: {detail}")
        }
    }
}

pub const NO_CREDENTIALS: &str = "no AWS credentials found: set AWS_PROFILE (after `aws sso login` if it is an SSO \
     profile) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and AWS_REGION if the stage's region is not wanted";

fn looks_like_missing_credentials(detail: &str) -> bool {
    detail.contains("no credentials")
        || detail.contains("CredentialsNotLoaded")
        || detail.contains("credentials provider")
}

/// The SDK clients of one account and region, built once per command.
#[derive(Clone, Debug)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub sts: aws_sdk_sts::Client,
    pub region: String,
}

impl Clients {
    /// The standard chain (profile, SSO, environment, `AWS_ENDPOINT_URL`). The region
    /// is always the stage's, so a profile's default region cannot put a stage elsewhere.
    pub async fn for_stage(stage: &StageConfig) -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(stage.region.clone()))
            .load()
            .await;
        Self::from_config(&config, &stage.region)
    }

    pub fn from_config(config: &aws_config::SdkConfig, region: &str) -> Self {
        // S3-compatible endpoints (moto, MinIO) serve buckets by path, not by host name.
        let path_style = config.endpoint_url().is_some();
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(config).force_path_style(path_style).build(),
        );
        Self {
            s3,
            cloudformation: aws_sdk_cloudformation::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            region: region.to_owned(),
        }
    }

    /// The account the credentials belong to; also the first call, so missing
    /// credentials are reported here in one sentence.
    pub async fn account_id(&self) -> Result<String> {
        let identity =
            self.sts.get_caller_identity().send().await.map_err(aws_error("GetCallerIdentity", "(credentials)"))?;
        identity.account().map(str::to_owned).context("GetCallerIdentity returned no account")
    }
}

/// Where `deploy` writes a stage's outputs for the other commands.
pub fn outputs_path(root: &Path, stage: &str) -> PathBuf {
    root.join("target/stacks").join(format!("{stage}.outputs.json"))
}
