//! `infra/host/data-volume.sh`, the database host's boot-time disk step, run as a real
//! script against real block devices: loop devices over sparse files in a temp dir,
//! formatted with the real `mkfs.xfs` and mounted with the real `mount`.
//!
//! Needs root (loop devices, mount). As root it installs what is missing: `xfsprogs`
//! from Debian with apt-get, the loop device nodes with modprobe/mknod. Not root, it
//! skips with a loud message, except under `CI`, where a skip would hide the test and
//! fails instead. `shellcheck` comes from the project's venv (`xtask/requirements.txt`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/host/data-volume.sh");
/// mkfs.xfs refuses file systems under 300 MiB; the files are sparse.
const DEVICE_MIB: u64 = 320;

// ---------------------------------------------------------------------------------
// The cases

#[test]
fn first_boot_formats_and_mounts_and_a_second_boot_keeps_the_data() {
    let Some(mut sandbox) = Sandbox::new("boots") else { return };
    let device = sandbox.device();
    let mp = sandbox.path("var/lib/mysql");
    let mp_str = mp.to_str().unwrap();
    let elsewhere = sandbox.path("var/lib/mysql2");
    let old = format!(
        "# /etc/fstab\nUUID=root-volume / xfs defaults,noatime 1 1\n\
         UUID=an-older-volume {mp_str} xfs defaults 0 2\n\
         UUID=unrelated {} xfs defaults 0 2\n",
        elsewhere.display()
    );
    fs::write(sandbox.fstab(), &old).unwrap();

    // First boot: a blank volume is formatted, mounted, recorded and given to MariaDB.
    let first = sandbox.run(&device, &mp);
    assert_success(&first);
    let out = stdout(&first);
    assert!(out.contains(&format!("formatting {device} with XFS")), "{out}");
    assert!(out.contains(&format!("mounted {device} at {mp_str}")), "{out}");
    assert_eq!(probe(&device, "TYPE"), "xfs");
    let uuid = probe(&device, "UUID");
    assert_eq!(mounted_source(&mp).as_deref(), Some(device.as_str()));
    let fstab = fs::read_to_string(sandbox.fstab()).unwrap();
    assert_eq!(
        fstab,
        format!(
            "# /etc/fstab\nUUID=root-volume / xfs defaults,noatime 1 1\n\
             UUID=unrelated {} xfs defaults 0 2\n\
             UUID={uuid} {mp_str} xfs defaults,nofail 0 2\n",
            elsewhere.display()
        ),
        "the older line for the mount point is replaced, the others kept"
    );
    if user_exists("mysql") {
        assert_eq!(owner(&mp), "mysql:mysql", "a new volume belongs to MariaDB");
        assert!(out.contains("gave"), "{out}");
    } else {
        eprintln!("NOTE: no user mysql on this machine; the ownership step was not checked");
    }

    // The script again while mounted (a re-run of the user data): nothing changes.
    let again = sandbox.run(&device, &mp);
    assert_success(&again);
    let out = stdout(&again);
    assert!(out.contains("already mounted"), "{out}");
    assert!(!out.contains("formatting"), "{out}");
    assert_eq!(fs::read_to_string(sandbox.fstab()).unwrap(), fstab, "fstab is left as it is");

    // Data on the volume; the owner changed on purpose to see that a kept volume is
    // not chowned again. Then a reboot: unmounted, the script runs again.
    fs::create_dir(mp.join("zipster")).unwrap();
    fs::write(mp.join("zipster/rows.ibd"), b"the rows that must survive").unwrap();
    run_ok(Command::new("chown").args(["root:root", mp_str]));
    sandbox.unmount(&mp);
    assert!(!mp.join("zipster").exists(), "unmounted: the data is on the volume only");

    let second = sandbox.run(&device, &mp);
    assert_success(&second);
    let out = stdout(&second);
    assert!(out.contains(&format!("kept the XFS file system on {device}")), "{out}");
    assert!(!out.contains("formatting"), "{out}");
    assert!(out.contains(&format!("mounted {device} at {mp_str}")), "{out}");
    assert_eq!(probe(&device, "UUID"), uuid, "the same file system, not a new one");
    assert_eq!(fs::read(mp.join("zipster/rows.ibd")).unwrap(), b"the rows that must survive");
    assert_eq!(owner(&mp), "root:root", "existing data is never chowned");
    assert_eq!(fs::read_to_string(sandbox.fstab()).unwrap(), fstab, "still exactly one line");
}

#[test]
fn an_ext4_volume_is_refused_loudly_and_left_untouched() {
    let Some(mut sandbox) = Sandbox::new("ext4") else { return };
    let device = sandbox.device();
    run_ok(Command::new("mkfs.ext4").args(["-q", "-F", &device]));
    let uuid = probe(&device, "UUID");
    let before = head(&device);
    let mp = sandbox.path("var/lib/mysql");

    let refused = sandbox.run(&device, &mp);
    assert_eq!(refused.status.code(), Some(3), "{}", describe(&refused));
    let err = one_line(&refused);
    assert!(err.contains(&device) && err.contains("ext4") && err.contains("refusing"), "{err}");
    assert!(!stdout(&refused).contains("formatting"), "{}", describe(&refused));
    assert_eq!(probe(&device, "TYPE"), "ext4");
    assert_eq!(probe(&device, "UUID"), uuid);
    assert!(head(&device) == before, "the device's first MiB changed");
    assert_eq!(mounted_source(&mp), None);
    assert!(!sandbox.fstab().exists(), "no fstab line for a refused volume");
}

#[test]
fn a_partition_table_is_refused() {
    let Some(mut sandbox) = Sandbox::new("mbr") else { return };
    let device = sandbox.device();
    // An MBR with one Linux partition from sector 2048: what a volume someone
    // partitioned by hand looks like. blkid reports PTTYPE=dos and no TYPE.
    let mut mbr = vec![0u8; 512];
    mbr[446..462].copy_from_slice(&[0, 0, 2, 0, 0x83, 0, 0, 0, 0, 8, 0, 0, 0, 0x10, 0, 0]);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    write_at_start(&device, &mbr);
    assert_eq!(probe(&device, "PTTYPE"), "dos");
    let mp = sandbox.path("data");

    let refused = sandbox.run(&device, &mp);
    assert_eq!(refused.status.code(), Some(3), "{}", describe(&refused));
    let err = one_line(&refused);
    assert!(err.contains(&device) && err.contains("partition table (dos)"), "{err}");
    assert_eq!(probe(&device, "TYPE"), "", "not formatted");
    assert_eq!(mounted_source(&mp), None);
}

#[test]
fn a_mount_point_holding_files_is_refused_before_anything_is_formatted() {
    let Some(mut sandbox) = Sandbox::new("busy") else { return };
    let device = sandbox.device();
    let mp = sandbox.path("var/lib/mysql");
    fs::create_dir_all(mp.join("mysql")).unwrap();
    fs::write(mp.join("ibdata1"), b"written to the root volume before the mount").unwrap();

    let refused = sandbox.run(&device, &mp);
    assert_eq!(refused.status.code(), Some(4), "{}", describe(&refused));
    let err = one_line(&refused);
    assert!(err.contains(mp.to_str().unwrap()) && err.contains("not a mount point"), "{err}");
    assert_eq!(probe(&device, "TYPE"), "", "the device was not formatted");
    assert_eq!(mounted_source(&mp), None);
    assert_eq!(fs::read(mp.join("ibdata1")).unwrap(), b"written to the root volume before the mount");
    assert!(!sandbox.fstab().exists());

    // Another device mounted there already is refused too.
    let other = sandbox.device();
    let taken = sandbox.path("taken");
    let first = sandbox.run(&other, &taken);
    assert_success(&first);
    let refused = sandbox.run(&device, &taken);
    assert_eq!(refused.status.code(), Some(4), "{}", describe(&refused));
    assert!(one_line(&refused).contains(&format!("already a mount point of {other}")), "{}", describe(&refused));
    assert_eq!(probe(&device, "TYPE"), "", "the device was not formatted");
}

#[test]
fn the_device_is_waited_for_within_a_bound() {
    let Some(mut sandbox) = Sandbox::new("wait") else { return };
    let mp = sandbox.path("data");

    let missing = sandbox.path("dev/never");
    let started = std::time::Instant::now();
    let gave_up = sandbox.command(missing.to_str().unwrap(), &mp).env("ZIPSTER_DEVICE_WAIT", "2").output().unwrap();
    assert_eq!(gave_up.status.code(), Some(5), "{}", describe(&gave_up));
    assert!(one_line(&gave_up).contains("did not appear as a block device within 2s"), "{}", describe(&gave_up));
    assert!(started.elapsed() < Duration::from_secs(30));

    // A device that appears a little after the script starts, as an EBS volume
    // attached at boot does: the script waits for it, then formats and mounts.
    let device = sandbox.device();
    let late = sandbox.path("dev/late");
    fs::create_dir_all(late.parent().unwrap()).unwrap();
    let child = sandbox
        .command(late.to_str().unwrap(), &mp)
        .env("ZIPSTER_DEVICE_WAIT", "60")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    std::os::unix::fs::symlink(&device, &late).unwrap();
    let waited = child.wait_with_output().unwrap();
    assert_success(&waited);
    let out = stdout(&waited);
    assert!(out.contains("waited") && out.contains("formatting"), "{out}");
    assert_eq!(mounted_source(&mp).as_deref(), Some(device.as_str()));
}

#[test]
fn usage_errors_exit_2() {
    for args in [&[][..], &["/dev/null"][..], &["/dev/null", "relative/path"][..]] {
        let out =
            Command::new("bash").arg(SCRIPT).args(args).env("ZIPSTER_FSTAB", "/nonexistent/fstab").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1, "{args:?}: {}", describe(&out));
    }
}

/// Every script of the host (this one, and the TLS and access scripts that
/// `db/tests/host_database.rs` runs against a real MariaDB).
#[test]
fn shellcheck_finds_nothing_in_the_host_scripts() {
    let shellcheck = zipster_tools::venv::tool("shellcheck").expect("shellcheck from the project's venv");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/host");
    for name in ["data-volume.sh", "database-tls.sh", "database-access.sh"] {
        // Every optional check, except the one asking for ${braces} around every variable.
        let out = Command::new(&shellcheck)
            .args(["--shell=bash", "--severity=style", "--enable=all", "--exclude=SC2250"])
            .arg(format!("{dir}/{name}"))
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", shellcheck.display()));
        assert!(out.status.success(), "shellcheck {name}:\n{}", describe(&out));
    }
}

// ---------------------------------------------------------------------------------
// The sandbox: a temp dir with backing files, mount points and an fstab, and the loop
// devices made for this test. Dropping it unmounts and detaches everything, also when
// the test panicked half-way.

struct Sandbox {
    dir: PathBuf,
    loops: Vec<String>,
}

impl Sandbox {
    /// None (after a loud message) when this machine cannot run the test.
    fn new(name: &str) -> Option<Sandbox> {
        if let Err(why) = prerequisites() {
            assert!(std::env::var_os("CI").is_none(), "under CI this test must run, but: {why}");
            eprintln!("\n*** SKIPPED data_volume_script::{name}: {why} ***\n");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("zipster-data-volume-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Some(Sandbox { dir, loops: Vec::new() })
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    fn fstab(&self) -> PathBuf {
        self.dir.join("fstab")
    }

    /// A new blank block device: a loop device over a sparse file.
    fn device(&mut self) -> String {
        let file = self.dir.join(format!("volume-{}.img", self.loops.len()));
        fs::File::create(&file).unwrap().set_len(DEVICE_MIB << 20).unwrap();
        let device = attach(&file);
        self.loops.push(device.clone());
        device
    }

    fn command(&self, device: &str, mountpoint: &Path) -> Command {
        let mut command = Command::new("bash");
        command.arg(SCRIPT).arg(device).arg(mountpoint).env("ZIPSTER_FSTAB", self.fstab());
        command
    }

    fn run(&self, device: &str, mountpoint: &Path) -> Output {
        self.command(device, mountpoint).output().unwrap()
    }

    fn unmount(&self, mountpoint: &Path) {
        run_ok(Command::new("umount").arg(mountpoint));
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Deepest first, so nested mounts come off before their parents.
        let listing = Command::new("findmnt").args(["-rn", "-o", "TARGET"]).output();
        let mut mounted: Vec<String> = listing
            .map(|out| String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect())
            .unwrap_or_default();
        mounted.retain(|target| Path::new(target).starts_with(&self.dir));
        mounted.sort_by_key(|target| std::cmp::Reverse(target.len()));
        for target in &mounted {
            let ok = Command::new("umount").arg(target).status().is_ok_and(|s| s.success());
            if !ok {
                let _ = Command::new("umount").args(["-l", target]).status();
            }
        }
        for device in &self.loops {
            let _ = Command::new("losetup").args(["-d", device]).status();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------
// What the machine needs, found or installed once per test process.

fn prerequisites() -> Result<(), String> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| {
            let uid = Command::new("id").arg("-u").output().map_err(|e| format!("running id: {e}"))?;
            if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
                return Err("not root: loop devices and mount need root".to_owned());
            }
            for tool in ["losetup", "blkid", "findmnt", "mount", "mkfs.ext4"] {
                if !found(tool) {
                    return Err(format!("{tool} is missing (util-linux, e2fsprogs)"));
                }
            }
            if !found("mkfs.xfs") {
                install_xfsprogs()?;
            }
            ensure_loop_devices();
            Ok(())
        })
        .clone()
}

fn found(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool} || test -x /usr/sbin/{tool} || test -x /sbin/{tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `apt-get install xfsprogs`, one test process at a time (the others wait on a lock,
/// and apt's own lock is waited for rather than failed on).
fn install_xfsprogs() -> Result<(), String> {
    if !found("apt-get") {
        return Err("mkfs.xfs is missing and there is no apt-get to install xfsprogs".to_owned());
    }
    let lock_path = std::env::temp_dir().join("zipster-apt-xfsprogs.lock");
    let lock = fs::File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    lock.lock().map_err(|e| format!("locking {}: {e}", lock_path.display()))?;
    if found("mkfs.xfs") {
        return Ok(());
    }
    eprintln!("installing xfsprogs with apt-get (mkfs.xfs, for the data volume script's test)");
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=600"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    let installed = apt(&["install", "-y", "-q", "--no-install-recommends", "xfsprogs"])
        || (apt(&["update", "-q"]) && apt(&["install", "-y", "-q", "--no-install-recommends", "xfsprogs"]));
    if !installed || !found("mkfs.xfs") {
        return Err("apt-get install xfsprogs failed".to_owned());
    }
    Ok(())
}

/// Loop device nodes, for machines (containers) where udev did not make them.
fn ensure_loop_devices() {
    if !Path::new("/dev/loop-control").exists() {
        let _ = Command::new("modprobe").arg("loop").status();
    }
    if !Path::new("/dev/loop-control").exists() {
        let _ = Command::new("mknod").args(["/dev/loop-control", "c", "10", "237"]).status();
    }
    for n in 0..16 {
        let node = format!("/dev/loop{n}");
        if !Path::new(&node).exists() {
            let _ = Command::new("mknod").args([&node, "b", "7", &n.to_string()]).status();
        }
    }
}

/// `losetup -f --show FILE`; when every node is taken, one more node and again.
fn attach(file: &Path) -> String {
    for attempt in 0..8 {
        let out = Command::new("losetup").args(["-f", "--show"]).arg(file).output().unwrap();
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).trim().to_owned();
        }
        // losetup names the node it wanted when it is missing; make nodes further on.
        for n in 16 + attempt * 8..24 + attempt * 8 {
            let node = format!("/dev/loop{n}");
            if !Path::new(&node).exists() {
                let _ = Command::new("mknod").args([&node, "b", "7", &n.to_string()]).status();
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("losetup -f --show {} failed eight times", file.display());
}

// ---------------------------------------------------------------------------------
// Looking at the results

/// One value from `blkid -p` (the device itself, no cache); "" when absent.
fn probe(device: &str, tag: &str) -> String {
    let out = Command::new("blkid").args(["-p", "-o", "export", device]).output().unwrap();
    let prefix = format!("{tag}=");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| line.strip_prefix(&prefix).map(str::to_owned))
        .unwrap_or_default()
}

fn mounted_source(mountpoint: &Path) -> Option<String> {
    let out = Command::new("findmnt").args(["-n", "-o", "SOURCE", "--mountpoint"]).arg(mountpoint).output().unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn head(device: &str) -> Vec<u8> {
    let mut bytes = vec![0u8; 1 << 20];
    fs::File::open(device).unwrap().read_exact(&mut bytes).unwrap();
    bytes
}

fn write_at_start(device: &str, bytes: &[u8]) {
    use std::io::Write;
    let mut file = fs::OpenOptions::new().write(true).open(device).unwrap();
    file.write_all(bytes).unwrap();
    file.sync_all().unwrap();
}

fn owner(path: &Path) -> String {
    let out = Command::new("stat").args(["-c", "%U:%G"]).arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn user_exists(name: &str) -> bool {
    Command::new("id").arg(name).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn run_ok(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(out.status.success(), "{command:?}: {}", describe(&out));
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A refusal is one clear line on stderr.
fn one_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line on stderr, got:\n{err}");
    err
}

fn assert_success(out: &Output) {
    assert!(out.status.success(), "the script failed: {}", describe(out));
}

fn describe(out: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
