//! Private service instances for fault tests. The PostgreSQL and Redis on
//! the standard ports are shared with every other test run on the machine,
//! so a test that restarts a service starts its own copy on a free port and
//! stops it when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A port nobody listens on right now (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `redis-server` on its own port, without persistence: a restart loses
/// everything, as a Redis restarted without a snapshot does.
pub struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub async fn start() -> Self {
        let mut redis = Self {
            port: free_port(),
            child: None,
        };
        redis.launch().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    async fn launch(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (is it installed?)");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).expect("redis url");
        for _ in 0..100 {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("private redis-server on port {} did not start", self.port);
    }

    /// Kills it (SIGKILL: no goodbye to the clients).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub async fn start_again(&mut self) {
        self.stop();
        self.launch().await;
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A private PostgreSQL cluster (initdb + pg_ctl in a temp dir, run as the
/// `postgres` user when this process is root) on a free port, for tests that
/// stop and restart the database. Stopped (immediately) when dropped.
pub struct PrivatePostgres {
    port: u16,
    dir: tempfile::TempDir,
    as_root: bool,
    /// More `-c name=value` server options (the bench's pg_stat_statements).
    extra: String,
}

impl PrivatePostgres {
    /// `None` when no PostgreSQL server binaries are installed.
    pub async fn start() -> Option<Self> {
        Self::start_with("").await
    }

    /// `start` with more server options, e.g.
    /// `-c shared_preload_libraries=pg_stat_statements`.
    pub async fn start_with(extra: &str) -> Option<Self> {
        let bin = postgres_bin_dir()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let pg = Self {
            port: free_port(),
            dir,
            as_root,
            extra: extra.to_string(),
        };
        if as_root {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(pg.dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown the private cluster's directory");
        }
        let data = pg.dir.path().join("data");
        pg.run(&format!(
            "{} -D {} -U postgres -A trust --no-sync",
            bin.join("initdb").display(),
            data.display()
        ));
        pg.start_again().await;
        Some(pg)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The postmaster's process id (the first line of `postmaster.pid`),
    /// while the server runs: its backends are its children.
    pub fn postmaster_pid(&self) -> Option<u32> {
        let file = self.dir.path().join("data").join("postmaster.pid");
        std::fs::read_to_string(file)
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// The server's log file (`pg_ctl -l`).
    pub fn log_path(&self) -> std::path::PathBuf {
        self.dir.path().join("log")
    }

    /// The directory of the server's binaries (`pgbench` is there too).
    pub fn bin_dir() -> Option<std::path::PathBuf> {
        postgres_bin_dir()
    }

    fn run(&self, command: &str) {
        let output = if self.as_root {
            Command::new("su")
                .args(["postgres", "-s", "/bin/sh", "-c", command])
                .output()
        } else {
            Command::new("sh").args(["-c", command]).output()
        }
        .expect("run a PostgreSQL tool");
        assert!(
            output.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn pg_ctl(&self, args: &str) -> String {
        let bin = postgres_bin_dir().expect("binaries");
        format!(
            "{} -D {} {args}",
            bin.join("pg_ctl").display(),
            self.dir.path().join("data").display()
        )
    }

    /// Starts (or restarts) the server and waits until it accepts connections.
    pub async fn start_again(&self) {
        let dir = self.dir.path().display();
        self.run(&self.pg_ctl(&format!(
            "-w -l {dir}/log -o \"-p {} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 {}\" start",
            self.port, self.extra
        )));
    }

    /// Stops the server at once (`-m immediate`: no goodbye to clients).
    pub fn stop(&self) {
        self.run(&self.pg_ctl("-m immediate -w stop"));
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let command = self.pg_ctl("-m immediate -w stop");
        let _ = if self.as_root {
            Command::new("su")
                .args(["postgres", "-s", "/bin/sh", "-c", &command])
                .output()
        } else {
            Command::new("sh").args(["-c", &command]).output()
        };
    }
}

/// `/usr/lib/postgresql/<newest>/bin`, where Debian keeps initdb and pg_ctl.
fn postgres_bin_dir() -> Option<std::path::PathBuf> {
    let mut versions: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}
