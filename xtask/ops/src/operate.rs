//! `put`, `status`, `logs`, `redrive` and `drift` on any stage (zipster-operate). A
//! deployed stage is reached with its account's credentials; `local` is the running
//! local stage's moto, and for the commands that need functions run (`put`,
//! `redrive`) its Lambda service, for the command's duration, as `local` runs it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};
use xtask::cli::{LogsArgs, NearArgs, PutArgs, RedriveArgs, ReprocessArgs, StageArgs, StatusArgs};
use zipster_deploy::{StageClients, load_stage};
use zipster_local::commands as local;
use zipster_local::pipeline::LocalStage;
use zipster_operate::follow::{self, Put, Verdict};
use zipster_operate::{LambdaInvoke, Stage, drift, logs, parse_age, redrive, reprocess, status};
use zipster_tools::project_root;

/// How often a deployed stage is asked again while waiting (S3, SQS and CloudWatch
/// Logs calls are cheap, and Lambda takes seconds anyway).
const POLL: Duration = Duration::from_secs(2);
/// The local stage answers at once.
const LOCAL_POLL: Duration = Duration::from_millis(100);

fn is_local(stage: &str) -> bool {
    stage == zipster_local::deploy::STAGE
}

/// The stage's clients and stack name; `local`: the running local stage's moto.
async fn clients(root: &Path, name: &str) -> Result<(StageClients, String)> {
    let stage = load_stage(root, name)?;
    let stack = zipster_deploy::stack_name(&stage);
    if is_local(name) {
        let (endpoint, _) = local::running()?;
        return Ok((StageClients::local(&endpoint).await, stack));
    }
    Ok((StageClients::for_stage(&stage).await, stack))
}

async fn open(root: &Path, name: &str) -> Result<Stage> {
    let (clients, stack) = clients(root, name).await?;
    Stage::open(clients, &stack, if is_local(name) { LOCAL_POLL } else { POLL }).await
}

/// Runs `work` with the stage, and on `local` with its Lambda service running (stopped
/// afterwards, whatever `work` answered).
async fn with_functions<T>(
    root: &Path,
    name: &str,
    work: impl AsyncFnOnce(&Stage, Option<&LocalStage>) -> Result<T>,
) -> Result<T> {
    if !is_local(name) {
        let stage = open(root, name).await?;
        return work(&stage, None).await;
    }
    let running = local::running_stage(root).await?;
    let stack = zipster_deploy::stack_name(&load_stage(root, name)?);
    let result = match Stage::open(running.clients.clone(), &stack, LOCAL_POLL).await {
        Ok(stage) => work(&stage, Some(&running)).await,
        Err(error) => Err(error),
    };
    running.stop().await?;
    result
}

pub async fn put(args: PutArgs) -> Result<()> {
    let root = project_root();
    let file = if args.file.is_absolute() { args.file.clone() } else { std::env::current_dir()?.join(&args.file) };
    let key = put_key(&args, &file)?;
    let put = Put { key: key.clone(), wait: !args.no_wait, within: parse_age(&args.timeout)? };
    let story = with_functions(&root, &args.stage, async |stage: &Stage, _: Option<&LocalStage>| {
        eprintln!("put: s3://{}/{key} from {}", stage.input_bucket, file.display());
        follow::put(stage, &file, &put, &mut |step| eprintln!("{step}")).await
    })
    .await?;
    print!("{}", story.render());
    let stage = &args.stage;
    match story.verdict {
        Verdict::Uploaded | Verdict::Loaded => Ok(()),
        Verdict::NotStaged => {
            let reason = story.transform.as_ref().and_then(|t| t.error.clone()).unwrap_or_default();
            bail!("{key} was not staged ({reason}); its summary and rejects are listed above")
        }
        Verdict::DeadLettered => {
            bail!("{key} failed every retry; fix the cause, then `cargo xtask redrive --stage {stage}`")
        }
        Verdict::TimedOut => bail!(
            "{key} was not through within {}; `cargo xtask status --stage {stage} {key}` tells where it is",
            args.timeout
        ),
    }
}

/// The object key: `--key`, else the file's name under `--feed`'s prefix, else the name.
fn put_key(args: &PutArgs, file: &Path) -> Result<String> {
    Ok(match (&args.key, &args.feed) {
        (Some(key), _) => key.clone(),
        (None, Some(feed)) => format!("{}{}", zipster_core::feeds::builtin(feed)?.key_prefix, default_key(file)),
        (None, None) => default_key(file),
    })
}

/// The object key `put` uses by default: the file's name.
fn default_key(file: &Path) -> String {
    file.file_name().map_or_else(|| "upload.csv".to_owned(), |n| n.to_string_lossy().into_owned())
}

/// `status`: on `local` with its Lambda service running, since the load's records are
/// read through the migrate function.
pub async fn status(args: StatusArgs) -> Result<()> {
    let root = project_root();
    let name = args.stage.clone();
    let text =
        with_functions(&root, &args.stage, async |stage: &Stage, running: Option<&LocalStage>| match &args.key {
            Some(key) => {
                let story = match running {
                    Some(running) => status::story(stage, running.service.as_ref(), key, DAY).await?,
                    None => status::story(stage, &LambdaInvoke(&stage.clients), key, DAY).await?,
                };
                if !story.known() {
                    bail!("the stage has no record of {key} (no summary in s3://{}, no failure)", stage.errors_bucket);
                }
                Ok(story.render(stage))
            }
            None => {
                let overview = match running {
                    Some(running) => status::overview(stage, running.service.as_ref(), args.last).await?,
                    None => status::overview(stage, &LambdaInvoke(&stage.clients), args.last).await?,
                };
                Ok(overview.render(&name))
            }
        })
        .await?;
    print!("{text}");
    Ok(())
}

/// How far back `status KEY` reads the functions' lines when the file has no summary.
const DAY: Duration = Duration::from_secs(86_400);

pub async fn logs(args: LogsArgs) -> Result<()> {
    let stage = open(&project_root(), &args.stage).await?;
    let mut query = logs::Query::new(&stage, args.function.as_deref(), parse_age(&args.since)?)?;
    query.contains = args.filter.clone();
    let printed = logs::print(&stage, query, args.json, args.follow).await?;
    if printed == 0 && !args.json {
        eprintln!("no log lines since {} ago", args.since);
    }
    Ok(())
}

pub async fn redrive(args: RedriveArgs) -> Result<()> {
    let root = project_root();
    let report =
        with_functions(&root, &args.stage, async |stage: &Stage, running: Option<&LocalStage>| match running {
            Some(running) => redrive::redrive(stage, running.service.as_ref(), args.dry_run).await,
            None => redrive::redrive(stage, &LambdaInvoke(&stage.clients), args.dry_run).await,
        })
        .await?;
    print!("{}", redrive::render(&report, args.dry_run));
    let failed = report.iter().filter(|r| !r.deleted).count();
    if failed > 0 && !args.dry_run {
        bail!("{failed} record(s) are still in the on-failure queue");
    }
    Ok(())
}

/// `reprocess --stage S KEY… | --feed F [--since …]`: each file through the transform
/// and the load again, followed; fails if any was not loaded (or found already loaded).
pub async fn reprocess(args: ReprocessArgs) -> Result<()> {
    let root = project_root();
    let selection = reprocess::Selection {
        keys: args.keys.clone(),
        feed: args.feed.clone(),
        since: args.since.as_deref().map(reprocess::parse_since).transpose()?,
        default_feed: load_stage(&root, &args.stage)?.default_feed.clone(),
    };
    let overrides = zipster_core::event::Overrides { allow_shrink: args.allow_shrink };
    let within = parse_age(&args.timeout)?;
    let stories = with_functions(&root, &args.stage, async |stage: &Stage, running: Option<&LocalStage>| {
        let objects = reprocess::select(stage, &selection).await?;
        if objects.is_empty() {
            bail!("no input object of feed {} matches", selection.feed.as_deref().unwrap_or("?"));
        }
        let report = &mut |step: &str| eprintln!("{step}");
        match running {
            Some(running) => {
                reprocess::reprocess(stage, running.service.as_ref(), &objects, overrides, within, report).await
            }
            None => {
                reprocess::reprocess(stage, &LambdaInvoke(&stage.clients), &objects, overrides, within, report).await
            }
        }
    })
    .await?;
    for story in &stories {
        print!("{}", story.render());
    }
    let failed: Vec<&str> = stories.iter().filter(|s| s.verdict != Verdict::Loaded).map(|s| s.key.as_str()).collect();
    if !failed.is_empty() {
        bail!(
            "{} of {} file(s) did not load: {}; `cargo xtask status --stage {} KEY` tells each one's story",
            failed.len(),
            stories.len(),
            failed.join(", "),
            args.stage
        );
    }
    Ok(())
}

/// `near --stage S`: the radius query through the stage's migrate function, printed as
/// the local `near` prints it.
pub async fn near(stage: &str, args: &NearArgs) -> Result<()> {
    let root = project_root();
    let neighbors = with_functions(&root, stage, async |stage: &Stage, running: Option<&LocalStage>| match running {
        Some(running) => zipster_operate::near::near(stage, running.service.as_ref(), &args.zipcode, args.miles).await,
        None => zipster_operate::near::near(stage, &LambdaInvoke(&stage.clients), &args.zipcode, args.miles).await,
    })
    .await?;
    if neighbors.is_empty() {
        eprintln!("no zip code within {} miles of {}", args.miles, args.zipcode);
    }
    for (zipcode, miles) in neighbors {
        println!("{zipcode} {miles:.9}");
    }
    Ok(())
}

pub async fn drift(args: StageArgs) -> Result<()> {
    let root = project_root();
    let (clients, stack) = clients(&root, &args.stage).await?;
    let poll = if is_local(&args.stage) { LOCAL_POLL } else { POLL };
    let report = drift::detect(&clients, &stack, poll).await?;
    if args.output.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if !args.output.quiet || !report.drifted.is_empty() {
        print!("{}", report.render());
    }
    if !report.drifted.is_empty() {
        bail!("{} resource(s) of {stack} drifted from the template", report.drifted.len());
    }
    Ok(())
}

/// `local put FILE` and `local redrive`: the same commands on the local stage.
pub fn local_put(file: PathBuf, key: Option<String>) -> PutArgs {
    PutArgs {
        stage: zipster_local::deploy::STAGE.to_owned(),
        file,
        key,
        feed: None,
        no_wait: false,
        timeout: "5m".to_owned(),
    }
}

pub fn local_redrive() -> RedriveArgs {
    RedriveArgs { stage: zipster_local::deploy::STAGE.to_owned(), dry_run: false }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_puts_the_file_under_its_prefix() {
        let mut args = local_put(PathBuf::from("x/orders 1.csv"), None);
        let file = Path::new("x/orders 1.csv");
        assert_eq!(put_key(&args, file).unwrap(), "orders 1.csv");
        args.feed = Some("cities".to_owned());
        assert_eq!(put_key(&args, file).unwrap(), "cities/orders 1.csv");
        args.feed = Some("nope".to_owned());
        assert!(put_key(&args, file).unwrap_err().to_string().contains("\"nope\" is not a feed"));
    }
}
