//! What Linux's `/proc` says about a replica process: whether a pid is still the process the
//! agent started (pids are reused), which TCP ports it listens on, and its environment (how a
//! restarted agent recognises replicas it started but had not recorded yet).
//!
//! Written by hand: the few fields needed are simple to read, and `procfs`-style crates bring
//! far more than these three reads.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn proc(pid: u32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}"))
}

/// `(state, starttime)` of a process from `/proc/PID/stat`. The command name (field 2) may hold
/// spaces and parentheses, so fields are counted after its last `)`.
fn stat(pid: u32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(proc(pid).join("stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of the line, starttime field 22.
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// The process's start time in clock ticks since boot: with the pid, it names one process for
/// the whole uptime of the machine.
pub fn start_ticks(pid: u32) -> Option<u64> {
    stat(pid).map(|(_, t)| t)
}

/// The process group of `pid`.
pub fn pgid(pid: u32) -> Option<u32> {
    let text = std::fs::read_to_string(proc(pid).join("stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    // state, ppid, pgrp: field 5 of the line.
    rest.split_whitespace().nth(2)?.parse().ok()
}

/// Whether `pid` is still the process that started at `ticks` and has not exited (a zombie,
/// exited but not yet reaped, counts as exited).
pub fn is_alive(pid: u32, ticks: u64) -> bool {
    matches!(stat(pid), Some((state, t)) if t == ticks && state != 'Z' && state != 'X')
}

/// Whether every thread of `pid` has exited. A killed multi-threaded process's main thread
/// shows as a zombie while other threads still finish (a write the disk has not completed,
/// say), and its open files (a listening socket) are closed only when the last one ends: a
/// zombie main thread alone does not free its port.
pub fn exited(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(proc(pid).join("task")) else {
        return true;
    };
    tasks.flatten().all(|t| {
        std::fs::read_to_string(t.path().join("stat"))
            .ok()
            .and_then(|text| {
                let rest = &text[text.rfind(')')? + 1..];
                rest.split_whitespace().next().map(str::to_owned)
            })
            .is_none_or(|state| state == "Z" || state == "X")
    })
}

/// The TCP ports (IPv4 and IPv6) that sockets held open by `pid` listen on.
pub fn listening_ports(pid: u32) -> BTreeSet<u16> {
    let mut inodes = BTreeSet::new();
    if let Ok(fds) = std::fs::read_dir(proc(pid).join("fd")) {
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && let Some(inode) = target
                    .to_str()
                    .and_then(|t| t.strip_prefix("socket:["))
                    .and_then(|t| t.strip_suffix(']'))
                    .and_then(|t| t.parse::<u64>().ok())
            {
                inodes.insert(inode);
            }
        }
    }
    let mut ports = BTreeSet::new();
    for table in ["net/tcp", "net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(proc(pid).join(table)) else {
            continue;
        };
        ports.extend(listening_in_table(&text, &inodes));
    }
    ports
}

/// Ports of LISTEN sockets (state `0A`) in a `/proc/net/tcp` table whose inode is in `inodes`.
fn listening_in_table(text: &str, inodes: &BTreeSet<u64>) -> Vec<u16> {
    text.lines()
        // The first line is the table's column header.
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (f.get(1)?, f.get(3)?, f.get(9)?);
            if *state != "0A" || !inodes.contains(&inode.parse().ok()?) {
                return None;
            }
            u16::from_str_radix(local.rsplit_once(':')?.1, 16).ok()
        })
        .collect()
}

/// The value of `key` in the environment `pid` started with, if readable.
pub fn environ_var(pid: u32, key: &str) -> Option<String> {
    let raw = std::fs::read(proc(pid).join("environ")).ok()?;
    raw.split(|b| *b == 0).find_map(|entry| {
        let entry = std::str::from_utf8(entry).ok()?;
        let (k, v) = entry.split_once('=')?;
        (k == key).then(|| v.to_owned())
    })
}

/// Every pid on the machine (that this user can see).
pub fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_process_has_not_exited_and_a_reaped_one_has() {
        assert!(!exited(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(exited(pid), "a reaped child is gone");
    }

    #[test]
    fn reads_its_own_process() {
        let me = std::process::id();
        let ticks = start_ticks(me).expect("own stat");
        assert!(is_alive(me, ticks));
        assert!(
            !is_alive(me, ticks + 1),
            "another start time is another process"
        );
        assert!(environ_var(me, "PATH").is_some());
        assert!(pids().contains(&me));
        assert!(pgid(me).is_some());
    }

    #[test]
    fn finds_its_own_listening_socket() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(listening_ports(std::process::id()).contains(&port));
    }

    #[test]
    fn parses_a_tcp_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:A2C4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 4243 1 0000000000000000 20 4 30 10 -1\n";
        let inodes = BTreeSet::from([4242, 4243]);
        assert_eq!(listening_in_table(table, &inodes), [8080]);
        assert!(listening_in_table(table, &BTreeSet::new()).is_empty());
    }
}
