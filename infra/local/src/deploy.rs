//! `bootstrap` then `deploy --stage local` into moto, with the real deploy engine
//! (zipster-deploy): the bootstrap stack (artifact bucket, execution role), the
//! functions built for this machine (`build --host`), the change set run with the
//! execution role, the outputs file. The local stage then runs the same host binaries
//! as processes, since moto cannot run the zips.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use zipster_deploy::bootstrap::{BootstrapOptions, bootstrap};
use zipster_deploy::build::Target;
use zipster_deploy::deploy::{AllowReplace, Code, DeployOptions, deploy as deploy_stage};
use zipster_deploy::{StageClients, Ui, load_stage};

pub const STAGE: &str = "local";
/// moto answers at once.
const POLL: Duration = Duration::from_millis(100);

/// Bootstraps, then deploys (or updates) the local stage's stack, as a real stage
/// is; returns its name.
pub async fn deploy(root: &Path, clients: &StageClients, ui: &mut dyn Ui) -> Result<String> {
    let stage = load_stage(root, STAGE)?;
    bootstrap(BootstrapOptions { stage: stage.clone(), poll: POLL }, clients, ui).await?;
    let options = DeployOptions {
        stage,
        root: root.to_path_buf(),
        code: Code::Build(Target::Host),
        dry_run: false,
        // A local stack holds nothing worth keeping: one stuck after a failed
        // creation is replaced rather than reported.
        recreate: true,
        poll: POLL,
        // Likewise a replacement of its (moto) host or buckets loses nothing.
        allow_replace: AllowReplace::Any,
    };
    Ok(deploy_stage(options, clients, ui).await?.stack_name)
}

/// The stack name the local stage deploys to, without deploying.
pub fn stack_name(root: &Path) -> Result<String> {
    Ok(zipster_deploy::stack_name(&load_stage(root, STAGE)?))
}
