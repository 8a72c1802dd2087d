//! Real binaries in tests.
//!
//! [`Spawn`] describes a start: the program (from `env!("CARGO_BIN_EXE_<name>")`, or
//! [`target_bin_dir`] for another package's binary), its arguments and environment, where its
//! output goes, and when it counts as ready (listening on its ports, or a check of the caller's).
//! [`Spawn::start`] (or [`Spawn::start_async`] inside a tokio test) waits for that, bounded by a
//! timeout, and fails with a [`StartError`] that carries what the process printed. The
//! [`Process`] it returns is signalled without a shell ([`signal`] uses `kill(2)` directly), hands
//! over what it printed, and is killed and reaped when dropped, so a failing test leaves nothing
//! running.

use std::ffi::OsStr;
use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long [`Spawn::start`] waits by default. Generous: CI machines are shared, and a debug
/// binary can start slowly under load.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);

/// How often readiness and exit are polled.
const POLL: Duration = Duration::from_millis(20);

/// How long a reader of a captured stream may take to see its end after the process exited.
const DRAIN: Duration = Duration::from_secs(5);

/// How much of a log file a [`StartError`] quotes (its end).
const LOG_TAIL: usize = 16 * 1024;

/// The signals tests send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Term,
    Int,
    Hup,
    Kill,
    Usr1,
}

impl From<Signal> for rustix::process::Signal {
    fn from(s: Signal) -> Self {
        match s {
            Signal::Term => rustix::process::Signal::TERM,
            Signal::Int => rustix::process::Signal::INT,
            Signal::Hup => rustix::process::Signal::HUP,
            Signal::Kill => rustix::process::Signal::KILL,
            Signal::Usr1 => rustix::process::Signal::USR1,
        }
    }
}

/// Sends `sig` to process `pid` with `kill(2)` (no shell, no `kill` program).
///
/// Prefer [`Process::signal`], which refuses once the process has been reaped (its id may then
/// belong to another process). This is for a child the caller spawned itself and has not waited for.
pub fn signal(pid: u32, sig: Signal) -> io::Result<()> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("no process id {pid}"))
        })?;
    rustix::process::kill_process(pid, sig.into()).map_err(io::Error::from)
}

/// Where a process's stdout or stderr goes.
#[derive(Clone, Debug)]
pub enum Output {
    /// Read into memory ([`Process::stdout`], [`Process::stderr`]) and quoted by [`StartError`].
    Capture,
    /// Discarded.
    Null,
    /// The test's own.
    Inherit,
    /// Appended to this file (created if missing). stdout and stderr may name the same file;
    /// a [`StartError`] quotes its end.
    File(PathBuf),
}

type Check = Box<dyn FnMut() -> bool + Send>;

/// A process to start: [`Command`]'s options plus where output goes and when it is ready.
///
/// stdin is `/dev/null` and both output streams are captured unless set otherwise.
pub struct Spawn {
    name: String,
    command: Command,
    stdout: Output,
    stderr: Output,
    listen: Vec<SocketAddr>,
    ready: Option<Check>,
    timeout: Duration,
}

impl Spawn {
    /// A start of `program`, named after its file name in messages.
    pub fn new(program: impl AsRef<Path>) -> Spawn {
        let program = program.as_ref();
        let name = program
            .file_name()
            .unwrap_or(program.as_os_str())
            .to_string_lossy()
            .into_owned();
        Spawn {
            name,
            command: Command::new(program),
            stdout: Output::Capture,
            stderr: Output::Capture,
            listen: Vec::new(),
            ready: None,
            timeout: DEFAULT_START_TIMEOUT,
        }
    }

    /// The name used in messages (default: the program's file name).
    pub fn name(mut self, name: impl Into<String>) -> Spawn {
        self.name = name.into();
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Spawn {
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Spawn
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Spawn {
        self.command.env(key, value);
        self
    }

    pub fn envs<I, K, V>(mut self, vars: I) -> Spawn
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.command.envs(vars);
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Spawn {
        self.command.env_remove(key);
        self
    }

    /// Starts from an empty environment (then [`Spawn::env`] adds to it).
    pub fn env_clear(mut self) -> Spawn {
        self.command.env_clear();
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Spawn {
        self.command.current_dir(dir);
        self
    }

    pub fn stdout(mut self, output: Output) -> Spawn {
        self.stdout = output;
        self
    }

    pub fn stderr(mut self, output: Output) -> Spawn {
        self.stderr = output;
        self
    }

    /// Ready only once something accepts TCP connections on 127.0.0.1:`port`.
    pub fn listens_on(self, port: u16) -> Spawn {
        self.listens_at(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    /// Ready only once something accepts TCP connections on `addr`.
    pub fn listens_at(mut self, addr: SocketAddr) -> Spawn {
        self.listen.push(addr);
        self
    }

    /// Ready only once `check` returns true (polled after the ports accept connections); for
    /// readiness a port cannot show, such as a health endpoint or a file written at start-up.
    pub fn ready_when(mut self, check: impl FnMut() -> bool + Send + 'static) -> Spawn {
        self.ready = Some(Box::new(check));
        self
    }

    /// How long a start may take before it fails (default [`DEFAULT_START_TIMEOUT`]).
    pub fn start_timeout(mut self, timeout: Duration) -> Spawn {
        self.timeout = timeout;
        self
    }

    /// Starts the process without waiting for it to be ready; [`Process::wait_ready`] (or
    /// [`Process::wait_ready_async`]) waits later, so that several processes can start at once.
    pub fn spawn(mut self) -> Result<Process, StartError> {
        let failed = |name: &str, e: io::Error| StartError {
            name: name.to_owned(),
            failure: StartFailure::Spawn(e),
            output: String::new(),
        };
        let stdout = stdio(&self.stdout).map_err(|e| failed(&self.name, e))?;
        let stderr = stdio(&self.stderr).map_err(|e| failed(&self.name, e))?;
        self.command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let mut child = self.command.spawn().map_err(|e| failed(&self.name, e))?;
        let stdout = Stream::new(&self.stdout, child.stdout.take().map(|s| Box::new(s) as _));
        let stderr = Stream::new(&self.stderr, child.stderr.take().map(|s| Box::new(s) as _));
        Ok(Process {
            name: self.name,
            child,
            stdout,
            stderr,
            listen: self.listen,
            ready: self.ready,
            timeout: self.timeout,
        })
    }

    /// Starts the process and waits, blocking, until it is ready. Fails if it cannot start, exits
    /// first, or is not ready within the timeout; the process is killed then.
    pub fn start(self) -> Result<Process, StartError> {
        let mut process = self.spawn()?;
        process.wait_ready()?;
        Ok(process)
    }

    /// [`Spawn::start`] for async code: waits without blocking the runtime's thread (which may
    /// be serving what the process talks to).
    pub async fn start_async(self) -> Result<Process, StartError> {
        let mut process = self.spawn()?;
        process.wait_ready_async().await?;
        Ok(process)
    }
}

fn stdio(output: &Output) -> io::Result<Stdio> {
    Ok(match output {
        Output::Capture => Stdio::piped(),
        Output::Null => Stdio::null(),
        Output::Inherit => Stdio::inherit(),
        Output::File(path) => Stdio::from(OpenOptions::new().create(true).append(true).open(path)?),
    })
}

/// One output stream of a running process.
enum Stream {
    Captured {
        text: Arc<Mutex<Vec<u8>>>,
        reader: Option<JoinHandle<()>>,
    },
    File(PathBuf),
    Elsewhere,
}

impl Stream {
    fn new(output: &Output, pipe: Option<Box<dyn Read + Send>>) -> Stream {
        match (output, pipe) {
            (Output::Capture, Some(mut pipe)) => {
                let text = Arc::new(Mutex::new(Vec::new()));
                let sink = text.clone();
                // A thread per stream, so that a chatty process never blocks on a full pipe.
                let reader = std::thread::spawn(move || {
                    let mut chunk = [0u8; 8192];
                    while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                        sink.lock().unwrap().extend_from_slice(&chunk[..n]);
                    }
                });
                Stream::Captured {
                    text,
                    reader: Some(reader),
                }
            }
            (Output::File(path), _) => Stream::File(path.clone()),
            _ => Stream::Elsewhere,
        }
    }

    fn text(&self) -> String {
        match self {
            Stream::Captured { text, .. } => {
                String::from_utf8_lossy(&text.lock().unwrap()).into_owned()
            }
            _ => String::new(),
        }
    }

    /// Waits (bounded) until the reader has seen the end of the stream.
    fn drain(&mut self) {
        if let Stream::Captured { reader, .. } = self {
            let deadline = Instant::now() + DRAIN;
            while reader.as_ref().is_some_and(|r| !r.is_finished()) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if reader.as_ref().is_some_and(JoinHandle::is_finished) {
                let _ = reader.take().map(JoinHandle::join);
            }
        }
    }

    /// What a failure message quotes from this stream, under `label`.
    fn quote(&self, label: &str, out: &mut String) {
        let text = match self {
            Stream::Captured { .. } => self.text(),
            Stream::File(path) => match std::fs::read(path) {
                Ok(bytes) => {
                    let tail = &bytes[bytes.len().saturating_sub(LOG_TAIL)..];
                    String::from_utf8_lossy(tail).into_owned()
                }
                Err(e) => format!("(cannot read {}: {e})", path.display()),
            },
            Stream::Elsewhere => return,
        };
        let label = match self {
            Stream::File(path) => format!("{label} ({})", path.display()),
            _ => label.to_owned(),
        };
        out.push_str(&format!("\n--- {label} ---\n{}", text.trim_end()));
    }
}

/// A running (or exited) child process. Dropping it kills the process (SIGKILL) and reaps it.
pub struct Process {
    name: String,
    child: Child,
    stdout: Stream,
    stderr: Stream,
    listen: Vec<SocketAddr>,
    ready: Option<Check>,
    timeout: Duration,
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("name", &self.name)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl Process {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The operating system's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Blocks until the process is ready as its [`Spawn`] said, with the start timeout counted
    /// from now. On failure the process is left to the caller (dropping it kills it).
    pub fn wait_ready(&mut self) -> Result<(), StartError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if self.ready_now(deadline)? {
                return Ok(());
            }
            std::thread::sleep(POLL);
        }
    }

    /// [`Process::wait_ready`] without blocking the async runtime's thread.
    pub async fn wait_ready_async(&mut self) -> Result<(), StartError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if self.ready_now(deadline)? {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// One look: ready, not yet, or failed (exited, or `deadline` passed).
    fn ready_now(&mut self, deadline: Instant) -> Result<bool, StartError> {
        if let Some(status) = self
            .child
            .try_wait()
            .map_err(|e| self.error(StartFailure::Spawn(e)))?
        {
            self.stdout.drain();
            self.stderr.drain();
            return Err(self.error(StartFailure::Exited(status)));
        }
        let listening = self
            .listen
            .iter()
            .all(|addr| TcpStream::connect_timeout(addr, Duration::from_secs(1)).is_ok());
        if listening && self.ready.as_mut().is_none_or(|check| check()) {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Err(self.error(StartFailure::TimedOut(self.timeout)));
        }
        Ok(false)
    }

    fn error(&self, failure: StartFailure) -> StartError {
        let mut output = String::new();
        self.stderr.quote("stderr", &mut output);
        let same_file = matches!(
            (&self.stdout, &self.stderr),
            (Stream::File(a), Stream::File(b)) if a == b
        );
        if !same_file {
            self.stdout.quote("stdout", &mut output);
        }
        let waiting_for = match (self.listen.is_empty(), self.ready.is_some()) {
            (false, _) => format!(" (waiting for {:?})", self.listen),
            (true, true) => " (waiting for its readiness check)".to_owned(),
            (true, false) => String::new(),
        };
        StartError {
            name: format!("{}{waiting_for}", self.name),
            failure,
            output,
        }
    }

    /// Sends `sig` (without a shell). An error once the process has exited and been reaped.
    pub fn signal(&mut self, sig: Signal) -> io::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            return Err(io::Error::other(format!(
                "{} already exited ({status})",
                self.name
            )));
        }
        signal(self.child.id(), sig)
    }

    /// Sends SIGTERM.
    pub fn terminate(&mut self) -> io::Result<()> {
        self.signal(Signal::Term)
    }

    /// SIGTERM, then waits up to `limit` for the exit. If it has not exited by then, it is killed
    /// and the error says so with what it printed.
    pub fn stop(&mut self, limit: Duration) -> io::Result<ExitStatus> {
        self.terminate()?;
        match self.wait_timeout(limit)? {
            Some(status) => Ok(status),
            None => {
                let _ = self.kill();
                let mut output = String::new();
                self.stderr.quote("stderr", &mut output);
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "{} did not exit within {limit:?} of SIGTERM{output}",
                        self.name
                    ),
                ))
            }
        }
    }

    /// SIGKILL and reap; the exit status.
    pub fn kill(&mut self) -> io::Result<ExitStatus> {
        self.child.kill()?;
        self.wait()
    }

    /// The exit status if the process has exited.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits for the exit, then for the captured output's end.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        let status = self.child.wait()?;
        self.stdout.drain();
        self.stderr.drain();
        Ok(status)
    }

    /// Waits up to `limit` for the exit (blocking); `None` if it is still running.
    pub fn wait_timeout(&mut self, limit: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(outcome) = self.exit_by(deadline)? {
                return Ok(outcome);
            }
            std::thread::sleep(POLL);
        }
    }

    /// [`Process::wait_timeout`] without blocking the async runtime's thread.
    pub async fn wait_timeout_async(&mut self, limit: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(outcome) = self.exit_by(deadline)? {
                return Ok(outcome);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// One look at the exit: `Some(Some(status))` once exited (output drained), `Some(None)` once
    /// `deadline` has passed, `None` to look again.
    fn exit_by(&mut self, deadline: Instant) -> io::Result<Option<Option<ExitStatus>>> {
        if self.child.try_wait()?.is_some() {
            return self.wait().map(|status| Some(Some(status)));
        }
        Ok((Instant::now() >= deadline).then_some(None))
    }

    /// What the process has written to a captured stdout so far (all of it after a wait);
    /// empty when stdout is not captured.
    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// What the process has written to a captured stderr so far (all of it after a wait).
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Why a start failed.
#[derive(Debug)]
pub enum StartFailure {
    /// The program could not be run (not found, not executable, an output file not writable).
    Spawn(io::Error),
    /// It exited before it was ready: a configuration it refused, or a port taken meanwhile.
    Exited(ExitStatus),
    /// It was still not ready after this long.
    TimedOut(Duration),
}

/// A failed start, with what the process printed. Its `Debug` is its `Display`, so that
/// `start().unwrap()` shows the output readably.
pub struct StartError {
    /// The process's name, and what the start was waiting for.
    pub name: String,
    pub failure: StartFailure,
    /// The process's captured stderr and stdout (or its log file's end), as quoted in messages.
    pub output: String,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        match &self.failure {
            StartFailure::Spawn(e) => write!(f, "{name} could not be started: {e}")?,
            StartFailure::Exited(status) => {
                write!(f, "{name} exited before it was ready ({status})")?
            }
            StartFailure::TimedOut(after) => write!(f, "{name} was not ready after {after:?}")?,
        }
        f.write_str(&self.output)
    }
}

impl fmt::Debug for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.failure {
            StartFailure::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

/// The directory of this build profile's binaries (`target/debug`, `target/release`, ...), found
/// from the running executable: a test (in `deps/`) or a binary of the same build.
pub fn target_bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the running executable has a path");
    let mut dir = exe.parent().expect("it is in a directory").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// Builds the binaries of `packages` with `cargo build --quiet` (`--release` when
/// [`target_bin_dir`] is a release directory), for a test that runs another package's binaries:
/// cargo only provides `CARGO_BIN_EXE_*` for the package's own. Cargo decides what is out of
/// date, so this is quick when nothing is; the caller keeps it to once per process.
pub fn cargo_build(packages: &[&str]) -> io::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet"]);
    if target_bin_dir().ends_with("release") {
        cmd.arg("--release");
    }
    for package in packages {
        cmd.args(["-p", package]);
    }
    // Tests run from their package's directory; cargo finds the workspace from there.
    let status = cmd.status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "cargo build of {packages:?} failed ({status})"
        )))
    }
}
