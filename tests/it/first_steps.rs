//! README.md's "First steps", run as written: the shell commands of its marked blocks
//! (`<!-- first-steps: server -->`, `… receiver -->`, `… commands -->`, each before a ```sh
//! block) run with `sh -c`, `hookd` being the built binary first on PATH, in an empty
//! directory. The test only sets environment variables the commands honour (free ports for
//! the server and the receiver, the server's address for the CLI), puts the admin token the
//! server printed into the README's `export HOOKD_TOKEN=…` line, and points the webhook at the
//! receiver's port instead of 9000. The receiver must then show the event with
//! `signature: verified`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::process::Background;

const WAIT: Duration = Duration::from_secs(30);

/// The receiver's address in the README, replaced by the port the test's receiver got.
const README_RECEIVER: &str = "http://127.0.0.1:9000";

/// The README's line that sets the admin token, completed with the real one.
const TOKEN_EXPORT: &str = "export HOOKD_TOKEN=";

/// The marked ```sh blocks of `readme`: (marker name, shell commands). A command is a line,
/// with the lines that a trailing backslash continues; comment lines and blank lines are
/// left out.
fn marked_blocks(readme: &str) -> Vec<(String, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim()
            .strip_prefix("<!-- first-steps:")
            .and_then(|rest| rest.strip_suffix("-->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert_eq!(
            fence.trim(),
            "```sh",
            "README: a ```sh block must follow the marker {line:?}"
        );
        let mut commands = Vec::new();
        let mut pending = String::new();
        for line in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            if let Some(continued) = line.strip_suffix('\\') {
                pending.push_str(continued);
                continue;
            }
            pending.push_str(line);
            let command = std::mem::take(&mut pending);
            if !command.trim().is_empty() && !command.trim_start().starts_with('#') {
                commands.push(command.trim().to_string());
            }
        }
        assert!(pending.is_empty(), "README: a block ends with a backslash");
        blocks.push((name.trim().to_string(), commands));
    }
    blocks
}

/// `sh -c COMMAND` in `dir` with only PATH (the built `hookd` first) and `env` set.
fn shell(command: &str, dir: &Path, path: &str, env: &[(&str, &str)]) -> Command {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(command)
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir);
    for (key, value) in env {
        sh.env(key, value);
    }
    sh
}

/// The text after `marker` in `line` up to the next whitespace.
fn word_after<'a>(line: &'a str, marker: &str) -> &'a str {
    line.split(marker)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("nothing after {marker:?} in {line:?}"))
}

#[test]
fn readme_first_steps_work_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let blocks = marked_blocks(&readme);
    let names: Vec<&str> = blocks.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["server", "receiver", "commands"],
        "README's first steps"
    );
    let [server_block, receiver_block, commands] = [&blocks[0].1, &blocks[1].1, &blocks[2].1];
    assert_eq!(server_block.len(), 1, "one command starts the server");
    assert_eq!(receiver_block.len(), 1, "one command starts the receiver");

    // An empty directory to run in (the server's ./hookd-data lands there) and `hookd` on PATH.
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hookd"), bin.join("hookd")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".to_string())
    );

    // Step 1: the server, on a free port; it prints the admin token and the dev-mode warning.
    let mut server = Background::start(shell(
        &server_block[0],
        &work,
        &path,
        &[("HOOKD_LISTEN", "127.0.0.1:0")],
    ));
    let token = word_after(
        &server.wait_for_stderr("generated admin token", WAIT),
        "stored hashed): ",
    )
    .to_string();
    assert!(token.starts_with("hkd_"), "{token}");
    let listening = server.wait_for_stderr("hookd listening on ", WAIT);
    let server_url = format!("http://{}", word_after(&listening, "hookd listening on "));
    server.wait_for_stderr("dev mode is on", WAIT);

    // Step 2: the receiver, on a free port.
    let mut receiver = Background::start(shell(
        &receiver_block[0],
        &work,
        &path,
        &[("HOOKD_RECEIVE_LISTEN", "127.0.0.1:0")],
    ));
    let receiver_url = word_after(
        &receiver.wait_for_stderr("listening on http://", WAIT),
        "listening on ",
    )
    .trim_end_matches('/')
    .to_string();

    // Step 3: the commands in order, each `export` carried into the commands after it.
    let mut exports = String::new();
    let (mut token_set, mut receiver_used) = (false, false);
    let mut event_type = None;
    for command in commands {
        let command = if command.starts_with(TOKEN_EXPORT) {
            token_set = true;
            format!("{TOKEN_EXPORT}{token}")
        } else {
            receiver_used |= command.contains(README_RECEIVER);
            command.replace(README_RECEIVER, &receiver_url)
        };
        if let Some(rest) = command.strip_prefix("hookd event send ") {
            event_type = rest.split_whitespace().nth(1).map(str::to_string);
        }
        let out = shell(
            &format!("{exports}{command}"),
            &work,
            &path,
            &[("HOOKD_SERVER", &server_url)],
        )
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "README command failed: {command}\nstdout: {}\nstderr: {}\nserver:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            server.stderr()
        );
        if command.starts_with("export ") {
            exports.push_str(&command);
            exports.push('\n');
        }
    }
    assert!(
        token_set,
        "README's commands set HOOKD_TOKEN with {TOKEN_EXPORT}"
    );
    assert!(
        receiver_used,
        "README's webhook points at the receiver's default address {README_RECEIVER}"
    );
    let event_type = event_type.expect("README's commands send an event with hookd event send");

    // Step 4: the receiver shows the delivery, its signature verified.
    receiver.wait_for_stdout("signature: verified", WAIT);
    let shown = receiver.stdout();
    assert!(
        shown.contains(&format!("\"type\": \"{event_type}\"")),
        "{shown}"
    );
    assert!(!shown.contains("NOT verified"), "{shown}");
}

#[test]
fn marked_blocks_are_read_with_continuations_and_without_comments() {
    let text = "intro\n<!-- first-steps: one -->\n```sh\n# a comment\nhookd a \\\n   --b c   # note\n\nhookd d\n```\n```sh\nnot marked\n```\n";
    assert_eq!(
        marked_blocks(text),
        vec![(
            "one".to_string(),
            vec![
                "hookd a    --b c   # note".to_string(),
                "hookd d".to_string()
            ]
        )]
    );
}

#[test]
fn readme_installs_the_systemd_unit_where_it_expects_the_binary() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let unit = std::fs::read_to_string(format!("{root}/contrib/systemd/hookd.service")).unwrap();
    let exec_start = unit
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .expect("the unit has an ExecStart");
    let binary = exec_start.split_whitespace().next().unwrap();
    for needle in [
        format!("install -m 0755 target/release/hookd {binary}"),
        "contrib/systemd/hookd.service /etc/systemd/system/hookd.service".to_string(),
        "systemctl daemon-reload".to_string(),
        "systemctl enable --now hookd".to_string(),
        "journalctl -u hookd".to_string(),
        format!("`{exec_start}`"),
    ] {
        assert!(readme.contains(&needle), "README does not say {needle:?}");
    }
}
