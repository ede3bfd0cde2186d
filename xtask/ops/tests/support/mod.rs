//! Test support: a private moto server per test, started through
//! `moto_launcher.py` (which patches the moto gaps listed in README.md), and
//! clients that can only reach it.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{Credentials, Region};
use zipster_ops::aws::{Clients, project_root};

pub const REGION: &str = "us-east-1";

pub struct Moto {
    pub endpoint: String,
    child: Child,
}

impl Moto {
    /// Starts moto on a free loopback port and waits until it accepts connections.
    pub fn start() -> Self {
        let venv = ensure_venv();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let launcher = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/moto_launcher.py");
        let log = std::env::temp_dir().join(format!("zipster-moto-{port}.log"));
        let child = Command::new(venv.join("python"))
            .arg(&launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting moto_launcher.py");
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start; see {}", log.display());
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { endpoint: format!("http://127.0.0.1:{port}"), child }
    }

    /// Clients with fake credentials and moto's endpoint set explicitly, so nothing in
    /// the environment (profiles, real keys) can send these calls to AWS.
    pub async fn clients(&self) -> Clients {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .endpoint_url(&self.endpoint)
            .load()
            .await;
        Clients::from_config(&config, REGION)
    }

    pub async fn sns(&self) -> aws_sdk_sns::Client {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .endpoint_url(&self.endpoint)
            .load()
            .await;
        aws_sdk_sns::Client::new(&config)
    }

    /// Asks moto's EC2 (which the ops crate has no SDK for) through boto3 in the venv.
    pub fn instance_state(&self, instance_id: &str) -> String {
        let script = format!(
            "import boto3\nec2 = boto3.client('ec2', endpoint_url='{}', region_name='{REGION}', \
             aws_access_key_id='testing', aws_secret_access_key='testing')\n\
             r = ec2.describe_instances(InstanceIds=['{instance_id}'])\n\
             print(r['Reservations'][0]['Instances'][0]['State']['Name'])",
            self.endpoint
        );
        let output = Command::new(ensure_venv().join("python")).arg("-c").arg(script).output().unwrap();
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The venv's bin directory, installed by `cargo xtask tools` if missing.
pub fn ensure_venv() -> PathBuf {
    zipster_ops::local::moto::ensure_tools(&project_root()).unwrap()
}
