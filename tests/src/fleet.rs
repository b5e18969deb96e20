//! The production topology of a chaos or bench run: api and worker
//! processes (the running binary re-executed into the api's and the worker's
//! own entry points, so they are built from this workspace, in the same
//! profile, and configured only by environment), and a round-robin TCP proxy
//! in front of the apis (the load balancer). A binary that starts a fleet
//! dispatches `ROLE_API`/`ROLE_WORKER` to `run_role` first thing in `main`.

use anyhow::Context;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// The role argument that turns this binary into an api or a worker.
pub const ROLE_API: &str = "__chaos_api";
pub const ROLE_WORKER: &str = "__chaos_worker";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Api,
    Worker,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Worker => "worker",
        }
    }
}

/// One process of the fleet, restartable with the same environment.
pub struct Member {
    pub role: Role,
    pub index: usize,
    env: BTreeMap<String, String>,
    log: PathBuf,
    child: Option<Child>,
    pub starts: usize,
}

impl Member {
    pub fn new(role: Role, index: usize, env: BTreeMap<String, String>, dir: &Path) -> Self {
        Self {
            role,
            index,
            env,
            log: dir.join(format!("{}-{index}.log", role.name())),
            child: None,
            starts: 0,
        }
    }

    pub fn label(&self) -> String {
        format!("{}-{}", self.role.name(), self.index)
    }

    pub fn start(&mut self) -> anyhow::Result<()> {
        let exe = std::env::current_exe().context("this binary's path")?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("open {}", self.log.display()))?;
        let role = match self.role {
            Role::Api => ROLE_API,
            Role::Worker => ROLE_WORKER,
        };
        let mut command = Command::new(exe);
        command
            .arg(role)
            .env_clear()
            .envs(std::env::vars().filter(|(k, _)| k == "PATH" || k == "HOME"))
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        self.child = Some(command.spawn().context("spawn a fleet process")?);
        self.starts += 1;
        Ok(())
    }

    /// SIGKILL: no goodbye, no graceful shutdown.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The process id while it runs (to attach a profiler).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGTERM, then waits: the graceful shutdown (running jobs finish,
    /// connections close, so PostgreSQL flushes their statistics).
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs this process as one member of the fleet: the api's or the worker's
/// own entry point, configured by environment only.
pub fn run_role(role: Role) -> anyhow::Result<()> {
    let settings = domain::infra::settings::Settings::load()?;
    domain::infra::telemetry::init(&settings);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match role {
            Role::Api => {
                let app = api::Application::build(settings).await?;
                app.run_until_stopped().await?;
                Ok(())
            }
            Role::Worker => worker::run_process(settings, worker::shutdown_signal()).await,
        }
    })
}

/// Waits until `GET /readyz` of every api answers 200.
pub async fn wait_ready(http: &reqwest::Client, ports: &[u16], limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    for port in ports {
        loop {
            let ok = http
                .get(format!("http://127.0.0.1:{port}/readyz"))
                .timeout(Duration::from_secs(3))
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ok {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    true
}

/// A round-robin TCP proxy over the apis: a connection goes to the next api
/// that accepts it, as a load balancer with connect-failure retry would.
/// Connections open on an api that is killed are cut, as they would be.
pub async fn start_proxy(backends: Vec<u16>) -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let backends = backends.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let start = next.fetch_add(1, Ordering::Relaxed);
                for i in 0..backends.len() {
                    let port = backends[(start + i) % backends.len()];
                    if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", port)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                }
            });
        }
    });
    Ok(port)
}
