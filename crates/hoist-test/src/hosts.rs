//! Real SSH hosts for the hosts target's tests: `scripts/test-hosts` makes N Linux network
//! namespaces, each with its own `sshd`, user and home, on 10.213.R.0/24 (see the script for
//! the addresses). A test starts its own set, so one that takes a link down or changes a host
//! key cannot disturb another, and the set is removed when it is dropped (also when the test
//! panics). Missing root or openssh-server fails the test with what to do: never a skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fs::repo_root;
use crate::process::assert_success;

/// One test host: a namespace with its own sshd, user and home.
#[derive(Debug, Clone)]
pub struct Host {
    /// Its `Host` alias in the run's ssh_config (`hoist-h1`, …).
    pub alias: String,
    /// Its address, 10.213.R.x.
    pub addr: String,
    /// Its network namespace, for `ip netns exec`.
    pub netns: String,
    /// The user sshd lets in there.
    pub user: String,
    /// The root namespace's end of its veth pair (the host's end is `VETHn`).
    pub veth: String,
    /// Its user's home directory (network namespaces share the filesystem).
    pub home: PathBuf,
}

/// A running set of test hosts, removed on drop when this test started it.
pub struct TestHosts {
    /// The run's directory (ssh_config, known_hosts, the client key, per-host sshd files).
    pub dir: PathBuf,
    /// The hosts, in order.
    pub hosts: Vec<Host>,
    /// Whether this value started the hosts (and so stops them).
    owned: bool,
}

impl TestHosts {
    /// The hosts `scripts/test` started (`HOIST_TEST_HOSTS_DIR`), for a test that only reads
    /// from them; else `n` of its own, as [`TestHosts::start`]. Shared hosts are left running.
    pub fn shared_or_start(n: usize) -> Self {
        match std::env::var_os("HOIST_TEST_HOSTS_DIR") {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                let hosts = read_hosts(&dir);
                assert!(
                    hosts.len() >= n,
                    "HOIST_TEST_HOSTS_DIR has {} hosts, this test needs {n}",
                    hosts.len()
                );
                Self {
                    dir,
                    hosts,
                    owned: false,
                }
            }
            None => Self::start(n),
        }
    }

    /// Starts `n` hosts with `scripts/test-hosts start N` in a new temporary directory.
    pub fn start(n: usize) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("hoist-hosts.")
            .tempdir_in("/tmp")
            .expect("temp dir")
            .keep();
        let out = Command::new(repo_root().join("scripts/test-hosts"))
            .args(["start", &n.to_string()])
            .env("HOIST_TEST_HOSTS_DIR", &dir)
            .output()
            .expect("run scripts/test-hosts");
        assert_success(
            "scripts/test-hosts",
            &[
                "start",
                &n.to_string(),
                "(needs root and openssh-server: scripts/install-test-deps)",
            ],
            &out,
        );
        let hosts = read_hosts(&dir);
        Self {
            dir,
            hosts,
            owned: true,
        }
    }

    /// The run's ssh_config, for `ssh -F`: aliases, the run's key, strict host key checking.
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.join("ssh_config")
    }

    /// The run's known_hosts file, holding every host's key.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// The run's client private key: tests check that no output contains it.
    pub fn private_key(&self) -> String {
        std::fs::read_to_string(self.dir.join("id_ed25519")).expect("the run's key")
    }

    /// Takes host `i`'s link down on the host's side (`ip link set VETHn down` in its
    /// namespace): packets to it are dropped and a connection times out, as with a server whose
    /// network went away. The root side stays up, so its route stays and nothing to 10.213.x
    /// ever takes the machine's default route.
    pub fn link_down(&self, i: usize) {
        let h = &self.hosts[i];
        let peer = format!("{}n", h.veth);
        ip(&[
            "netns", "exec", &h.netns, "ip", "link", "set", &peer, "down",
        ]);
    }

    /// Brings host `i`'s link back up after [`TestHosts::link_down`].
    pub fn link_up(&self, i: usize) {
        let h = &self.hosts[i];
        let peer = format!("{}n", h.veth);
        ip(&["netns", "exec", &h.netns, "ip", "link", "set", &peer, "up"]);
    }

    /// Mounts a tmpfs of `kib` KiB over `rel` in host `i`'s home (made if missing), owned by
    /// the host's user: a disk that fills up. Mounted in the mount namespace of the host's sshd
    /// (`ip netns exec` gave it one of its own, which mounts made here do not reach), so every
    /// session and the agent see it; it goes with the host. Undone by [`TestHosts::unmount`].
    pub fn small_disk(&self, i: usize, rel: &str, kib: u32) {
        let h = &self.hosts[i];
        let dir = h.home.join(rel);
        std::fs::create_dir_all(&dir).expect("the mount point");
        let opts = format!("size={kib}k,mode=0700,uid={0},gid={0}", self.uid(i));
        self.in_host_mounts(
            i,
            &["mount", "-t", "tmpfs", "-o", &opts, "tmpfs", path(&dir)],
        );
    }

    /// Unmounts what [`TestHosts::small_disk`] mounted over `rel` in host `i`'s home.
    pub fn unmount(&self, i: usize, rel: &str) {
        let dir = self.hosts[i].home.join(rel);
        self.in_host_mounts(i, &["umount", path(&dir)]);
    }

    /// The names in `rel` of host `i`'s home as the host sees them (its own mounts).
    pub fn list(&self, i: usize, rel: &str) -> Vec<String> {
        let dir = self.hosts[i].home.join(rel);
        self.in_host_mounts(i, &["ls", "-A", path(&dir)])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Runs `cmd` in the mount namespace of host `i`'s sshd.
    fn in_host_mounts(&self, i: usize, cmd: &[&str]) -> String {
        let pid = std::fs::read_to_string(self.host_dir(i).join("sshd.pid")).expect("sshd.pid");
        let mut args = vec!["-t", pid.trim(), "-m", "--"];
        args.extend_from_slice(cmd);
        crate::process::run("nsenter", &args)
    }

    /// The uid of host `i`'s user.
    fn uid(&self, i: usize) -> String {
        crate::process::run("id", &["-u", &self.hosts[i].user])
            .trim()
            .to_owned()
    }

    /// Gives host `i` a new host key and restarts its sshd, as a reinstalled (or impostor)
    /// server does; the run's known_hosts keeps the old one.
    pub fn change_host_key(&self, i: usize) {
        let hdir = self.host_dir(i);
        let key = hdir.join("ssh_host_ed25519_key");
        std::fs::remove_file(&key).expect("remove the old host key");
        std::fs::remove_file(key.with_extension("pub")).expect("remove the old public key");
        run(
            "ssh-keygen",
            &["-q", "-t", "ed25519", "-N", "", "-f", path(&key)],
        );
        self.restart_sshd(i);
    }

    /// Removes host `i`'s key from the run's known_hosts: the host is unknown.
    pub fn forget_host_key(&self, i: usize) {
        run(
            "ssh-keygen",
            &["-R", &self.hosts[i].addr, "-f", path(&self.known_hosts())],
        );
    }

    /// Host `i`'s public host key fingerprint, `SHA256:…`, as ssh prints it.
    pub fn fingerprint(&self, i: usize) -> String {
        let key = self.host_dir(i).join("ssh_host_ed25519_key.pub");
        let out = crate::process::run("ssh-keygen", &["-l", "-E", "sha256", "-f", path(&key)]);
        out.split_whitespace()
            .nth(1)
            .expect("fingerprint")
            .to_owned()
    }

    /// Removes the run's key from host `i`'s authorized_keys: authentication fails.
    pub fn revoke_key(&self, i: usize) {
        std::fs::write(self.hosts[i].home.join(".ssh/authorized_keys"), "")
            .expect("empty authorized_keys");
    }

    /// Makes host `i` an arm64 (aarch64) machine to everything its SSH sessions run: its
    /// user's login shell becomes an arm64 busybox named `sh` (`HOIST_TEST_ARM64_SHELL`, made by
    /// `scripts/arm64-host`), which qemu-user runs through binfmt_misc, so `uname -m` says
    /// `aarch64`, every command of a session is an arm64 busybox applet, and an amd64 binary
    /// hoist wrongly copied there would still run (qemu does not stop it): tests check the
    /// machine of what lands there instead.
    pub fn make_arm64(&self, i: usize) {
        let shell = std::env::var("HOIST_TEST_ARM64_SHELL").expect(
            "HOIST_TEST_ARM64_SHELL names an arm64 shell: `eval \"$(scripts/arm64-host)\"` (scripts/test does)",
        );
        run("usermod", &["-s", &shell, &self.hosts[i].user]);
    }

    /// Runs `sh -c CMD` as host `i`'s user inside its namespace (not through SSH): what the host
    /// itself sees.
    pub fn exec(&self, i: usize, cmd: &str) -> std::process::Output {
        let h = &self.hosts[i];
        Command::new("ip")
            .args([
                "netns", "exec", &h.netns, "runuser", "-u", &h.user, "--", "sh", "-c", cmd,
            ])
            .env("HOME", &h.home)
            .current_dir(&h.home)
            .output()
            .expect("ip netns exec")
    }

    /// Host `i`'s own directory of the run (`hN/`: its sshd's files, its engine's data).
    pub(crate) fn host_dir(&self, i: usize) -> PathBuf {
        self.dir.join(format!("h{}", i + 1))
    }

    fn restart_sshd(&self, i: usize) {
        let hdir = self.host_dir(i);
        let pid = std::fs::read_to_string(hdir.join("sshd.pid")).expect("sshd.pid");
        run("kill", &[pid.trim()]);
        crate::process::wait_gone(pid.trim().parse().expect("pid"));
        let config = hdir.join("sshd_config");
        let log = hdir.join("sshd.log");
        run(
            "ip",
            &[
                "netns",
                "exec",
                &self.hosts[i].netns,
                "/usr/sbin/sshd",
                "-f",
                path(&config),
                "-E",
                path(&log),
            ],
        );
    }
}

impl Drop for TestHosts {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let _ = Command::new(repo_root().join("scripts/test-hosts"))
            .arg("stop")
            .env("HOIST_TEST_HOSTS_DIR", &self.dir)
            .status();
    }
}

/// The run's `hosts` file: `alias address namespace user veth home` per line.
fn read_hosts(dir: &Path) -> Vec<Host> {
    std::fs::read_to_string(dir.join("hosts"))
        .expect("the run's hosts file")
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            Host {
                alias: f[0].to_owned(),
                addr: f[1].to_owned(),
                netns: f[2].to_owned(),
                user: f[3].to_owned(),
                veth: f[4].to_owned(),
                home: PathBuf::from(f[5]),
            }
        })
        .collect()
}

fn ip(args: &[&str]) {
    run("ip", args);
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().expect(program);
    assert_success(program, args, &out);
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}
