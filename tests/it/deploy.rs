//! The deployment files do what README.md ("Running it for real") and docs/deployment.md say:
//! the systemd unit (checked by `systemd-analyze verify` where that tool exists, and always by
//! reading its directives), the Dockerfile (read instruction by instruction: no Docker engine
//! is needed), and the cluster example of contrib/cluster/ (its unit kept in step with the
//! single-machine one, its Compose file read as the YAML it is).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The systemd unit.
// ---------------------------------------------------------------------------------------------

const UNIT: &str = "contrib/systemd/hookd.service";

/// `section -> key -> values` (a key may repeat; an empty assignment is kept as "").
type Unit = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn parse_unit(text: &str) -> Unit {
    let mut unit = Unit::new();
    let mut section = String::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with(';'))
        {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let entry = std::mem::take(&mut pending);
        if entry.starts_with('[') && entry.ends_with(']') {
            section = entry[1..entry.len() - 1].to_string();
            unit.entry(section.clone()).or_default();
            continue;
        }
        let (key, value) = entry
            .split_once('=')
            .unwrap_or_else(|| panic!("unit file: not a key=value line: {entry:?}"));
        assert!(!section.is_empty(), "unit file: {key} outside a section");
        unit.entry(section.clone())
            .or_default()
            .entry(key.trim().to_string())
            .or_default()
            .push(value.trim().to_string());
    }
    unit
}

/// The last assignment of `key` in `[section]` (the one that counts for single-valued keys).
fn last<'a>(unit: &'a Unit, section: &str, key: &str) -> Option<&'a str> {
    unit.get(section)?.get(key)?.last().map(String::as_str)
}

fn assert_directive(unit: &Unit, section: &str, key: &str, want: &str) {
    let got = last(unit, section, key);
    assert_eq!(
        got,
        Some(want),
        "{UNIT}: [{section}] {key}= should be {want:?}"
    );
}

/// What `systemd-analyze` calls a true boolean.
fn is_yes(v: Option<&str>) -> bool {
    matches!(v, Some("yes" | "true" | "on" | "1"))
}

#[test]
fn unit_has_the_required_directives() {
    let unit = parse_unit(&read(UNIT));
    let s = "Service";
    assert!(is_yes(last(&unit, s, "DynamicUser")), "DynamicUser=yes");
    assert!(
        is_yes(last(&unit, s, "NoNewPrivileges")),
        "NoNewPrivileges=yes"
    );
    assert_directive(&unit, s, "StateDirectory", "hookd");
    assert_directive(&unit, s, "ProtectSystem", "strict");
    assert_directive(&unit, s, "Restart", "on-failure");
    assert_directive(&unit, s, "ExecStart", "/usr/local/bin/hookd serve");
    assert_directive(&unit, s, "EnvironmentFile", "-/etc/hookd/env");
    let env = unit[s].get("Environment").cloned().unwrap_or_default();
    assert!(
        env.iter().any(|e| e
            .split_whitespace()
            .any(|kv| kv.trim_matches('"') == "HOOKD_DATA_DIR=/var/lib/hookd")),
        "Environment=HOOKD_DATA_DIR=/var/lib/hookd, got {env:?}"
    );
    for key in [
        "PrivateTmp",
        "ProtectHome",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "LockPersonality",
        "MemoryDenyWriteExecute",
        "RestrictRealtime",
    ] {
        assert!(is_yes(last(&unit, s, key)), "{UNIT}: {key}=yes");
    }
    // RestrictNamespaces=yes (or an empty list: none allowed).
    assert!(
        is_yes(last(&unit, s, "RestrictNamespaces")),
        "RestrictNamespaces=yes"
    );
    let families: Vec<&str> = last(&unit, s, "RestrictAddressFamilies")
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let mut sorted = families.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["AF_INET", "AF_INET6", "AF_UNIX"],
        "RestrictAddressFamilies"
    );
    assert_directive(&unit, s, "SystemCallArchitectures", "native");
    // No capabilities at all: the empty assignment clears the set.
    assert_directive(&unit, s, "CapabilityBoundingSet", "");
    assert_directive(&unit, s, "AmbientCapabilities", "");
    assert_directive(&unit, "Install", "WantedBy", "multi-user.target");
}

/// Whether `systemd-analyze` can run here.
fn systemd_analyze() -> Option<PathBuf> {
    let out = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from("systemd-analyze"))
}

#[test]
fn unit_passes_systemd_analyze_verify() {
    verify_with_systemd(UNIT);
}

/// Runs `systemd-analyze verify` on the unit at `rel` where the tool exists (else only checks
/// that it parses into `[Service]` and `[Install]`).
fn verify_with_systemd(rel: &str) {
    let text = read(rel);
    let Some(tool) = systemd_analyze() else {
        // The directives are asserted by the tests that read them either way.
        println!(
            "systemd-analyze is not installed: {rel} was checked by parsing its directives only \
             (install the `systemd` package to verify it)"
        );
        eprintln!("note: systemd-analyze not found; {rel} not verified by systemd");
        let unit = parse_unit(&text);
        assert!(unit.contains_key("Service") && unit.contains_key("Install"));
        return;
    };
    // `verify` also checks that ExecStart's program exists: point it at the binary cargo
    // built, changing nothing else in the unit.
    let dir = tempfile::tempdir().unwrap();
    let shipped = "/usr/local/bin/hookd";
    assert!(text.contains(shipped));
    let name = Path::new(rel).file_name().unwrap();
    let unit_path = dir.path().join(name);
    std::fs::write(
        &unit_path,
        text.replace(shipped, env!("CARGO_BIN_EXE_hookd")),
    )
    .unwrap();
    let out = Command::new(&tool)
        .args(["verify", "--man=no"])
        .arg(&unit_path)
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .expect("run systemd-analyze verify");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("systemd-analyze verify {rel}: {}", out.status);
    // Bad values and unknown keys are only warnings ("…, ignoring") with exit status 0: any
    // complaint about the unit fails the test.
    let name = name.to_string_lossy();
    let complaints: Vec<&str> = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|l| l.contains(&*name) || l.contains("ignoring") || l.contains("Unknown"))
        .collect();
    assert!(
        out.status.success() && complaints.is_empty(),
        "systemd-analyze verify {rel} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

#[test]
fn unit_parser_reads_empty_and_repeated_assignments() {
    let unit = parse_unit(
        "[Service]\n# comment\nA=\nB=1\nB=2\nC=x \\\n  y\n[Install]\nWantedBy=multi-user.target\n",
    );
    assert_eq!(last(&unit, "Service", "A"), Some(""));
    assert_eq!(last(&unit, "Service", "B"), Some("2"));
    assert_eq!(last(&unit, "Service", "C"), Some("x  y"));
    assert_eq!(last(&unit, "Service", "D"), None);
    assert_eq!(
        last(&unit, "Install", "WantedBy"),
        Some("multi-user.target")
    );
}

// ---------------------------------------------------------------------------------------------
// The Dockerfile.
// ---------------------------------------------------------------------------------------------

/// One instruction: its keyword (upper case) and its arguments, continuation lines joined.
#[derive(Debug, Clone)]
struct Instruction {
    keyword: String,
    args: String,
}

/// The instructions of each build stage, in order.
fn parse_dockerfile(text: &str) -> Vec<Vec<Instruction>> {
    let mut stages: Vec<Vec<Instruction>> = Vec::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        // Comments (and parser directives) are whole lines; inside a continued instruction
        // they are skipped too.
        if line.starts_with('#') || (line.is_empty() && pending.is_empty()) {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont.trim_end());
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        let full = full.trim();
        if full.is_empty() {
            continue;
        }
        let (keyword, args) = full.split_once(char::is_whitespace).unwrap_or((full, ""));
        let instruction = Instruction {
            keyword: keyword.to_ascii_uppercase(),
            args: args.trim().to_string(),
        };
        if instruction.keyword == "FROM" {
            stages.push(Vec::new());
        }
        stages
            .last_mut()
            .expect("the Dockerfile starts with FROM (after ARGs)")
            .push(instruction);
    }
    stages
}

fn all<'a>(stage: &'a [Instruction], keyword: &str) -> Vec<&'a str> {
    stage
        .iter()
        .filter(|i| i.keyword == keyword)
        .map(|i| i.args.as_str())
        .collect()
}

/// The image of a `FROM` (without `--platform` and `AS name`).
fn from_image(args: &str) -> &str {
    args.split_whitespace()
        .find(|w| !w.starts_with("--"))
        .unwrap_or_default()
}

/// `KEY=value` pairs of ENV instructions (also the old `ENV KEY value` form).
fn env_pairs(stage: &[Instruction]) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for args in all(stage, "ENV") {
        if args.contains('=') {
            for word in args.split_whitespace() {
                if let Some((k, v)) = word.split_once('=') {
                    env.insert(k.to_string(), v.trim_matches('"').to_string());
                }
            }
        } else if let Some((k, v)) = args.split_once(char::is_whitespace) {
            env.insert(k.to_string(), v.trim().trim_matches('"').to_string());
        }
    }
    env
}

/// An exec-form JSON array (`["/hookd", "x"]`).
fn exec_form(args: &str) -> Vec<String> {
    serde_json::from_str(args.trim())
        .unwrap_or_else(|e| panic!("not an exec-form JSON array ({e}): {args}"))
}

#[test]
fn dockerfile_has_the_required_lines() {
    let stages = parse_dockerfile(&read("Dockerfile"));
    assert!(stages.len() >= 2, "a multi-stage build");
    let build = &stages[0];
    let image = from_image(&build[0].args);
    assert!(
        image.starts_with("rust:") || image.starts_with("docker.io/library/rust:"),
        "the build stage starts from the official rust image: {image}"
    );
    assert!(
        all(build, "RUN")
            .iter()
            .any(|r| r.contains("cargo build") && r.contains("--release")),
        "the build stage runs cargo build --release"
    );

    let last = stages.last().unwrap();
    let base = from_image(&last[0].args);
    assert!(
        base.contains("distroless") || base == "scratch",
        "a distroless or static final image: {base}"
    );

    // Non-root: the last USER is not root, or (with no USER) the base is a nonroot variant.
    let user = all(last, "USER").last().map(|u| u.to_string());
    match &user {
        Some(u) => {
            let name = u.split(':').next().unwrap_or_default();
            assert!(
                !name.is_empty() && name != "root" && name != "0",
                "USER {u} is not root"
            );
        }
        None => assert!(
            base.contains("nonroot"),
            "no USER and base {base} is not nonroot"
        ),
    }

    let env = env_pairs(last);
    assert_eq!(
        env.get("HOOKD_LISTEN").map(String::as_str),
        Some("0.0.0.0:8080")
    );
    assert_eq!(env.get("HOOKD_DATA_DIR").map(String::as_str), Some("/data"));

    assert!(
        all(last, "EXPOSE")
            .iter()
            .flat_map(|e| e.split_whitespace())
            .any(|p| p == "8080" || p == "8080/tcp"),
        "EXPOSE 8080"
    );

    let volumes: Vec<String> = all(last, "VOLUME")
        .iter()
        .flat_map(|v| {
            if v.trim_start().starts_with('[') {
                exec_form(v)
            } else {
                v.split_whitespace().map(str::to_string).collect()
            }
        })
        .collect();
    assert!(volumes.iter().any(|v| v == "/data"), "VOLUME /data");

    // /data is created owned by the runtime user (distroless has no shell to chown it).
    let uid = user
        .as_deref()
        .and_then(|u| u.split(':').next())
        .unwrap_or("65532")
        .to_string();
    assert!(
        all(last, "COPY").iter().any(|c| {
            let words: Vec<&str> = c.split_whitespace().collect();
            words.last() == Some(&"/data")
                && words.iter().any(|w| {
                    w.strip_prefix("--chown=")
                        .is_some_and(|o| o.split(':').next() == Some(uid.as_str()))
                })
        }),
        "COPY --chown={uid}… … /data"
    );

    let entrypoint = all(last, "ENTRYPOINT");
    let entrypoint = exec_form(entrypoint.last().expect("ENTRYPOINT"));
    let binary = entrypoint.first().expect("ENTRYPOINT names the binary");
    assert!(binary.ends_with("hookd"), "ENTRYPOINT {entrypoint:?}");
    assert!(
        all(last, "COPY")
            .iter()
            .any(|c| c.split_whitespace().last() == Some(binary.as_str())),
        "the binary is copied to {binary}"
    );

    let healthchecks = all(last, "HEALTHCHECK");
    let healthcheck = healthchecks.last().expect("HEALTHCHECK");
    let (_, cmd) = healthcheck
        .split_once("CMD")
        .expect("HEALTHCHECK … CMD [...]");
    let cmd = exec_form(cmd);
    assert_eq!(
        cmd,
        [binary.clone(), "healthcheck".to_string()],
        "HEALTHCHECK CMD runs `{binary} healthcheck`"
    );

    let ignore = read(".dockerignore");
    let ignored: Vec<&str> = ignore
        .lines()
        .map(|l| l.trim().trim_start_matches('/').trim_end_matches('/'))
        .collect();
    for want in ["target", "hookd-data", ".git"] {
        assert!(ignored.contains(&want), ".dockerignore lists {want}");
    }
}

#[test]
fn dockerfile_parser_joins_continuations_and_splits_stages() {
    let stages = parse_dockerfile(
        "# syntax=docker/dockerfile:1\nFROM rust:1 AS build\nRUN a \\\n  # note\n  && b\n\nFROM x\nENV A=1 \\\n    B=2\nENV C 3\n",
    );
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0][1].keyword, "RUN");
    assert_eq!(stages[0][1].args, "a && b");
    assert_eq!(from_image(&stages[0][0].args), "rust:1");
    let env = env_pairs(&stages[1]);
    assert_eq!(env["A"], "1");
    assert_eq!(env["B"], "2");
    assert_eq!(env["C"], "3");
}

#[test]
fn deployment_doc_covers_docker_systemd_backup_and_upgrade() {
    let doc = read("docs/deployment.md");
    for needle in [
        "docker run -d -p 8080:8080 -v hookd:/data",
        "docker build",
        "docker logs",
        "HOOKD_ADMIN_TOKEN",
        "/etc/hookd/env",
        "systemctl daemon-reload && systemctl enable --now hookd",
        "hookd backup",
        "hookd.redb",
        "upgrad",
    ] {
        assert!(
            doc.contains(needle),
            "docs/deployment.md mentions {needle:?}"
        );
    }
    assert!(Path::new(&root().join(UNIT)).exists());
}

// ---------------------------------------------------------------------------------------------
// The cluster example (contrib/cluster/).
// ---------------------------------------------------------------------------------------------

const CLUSTER_UNIT: &str = "contrib/cluster/hookd-node.service";
const COMPOSE: &str = "contrib/cluster/compose.yaml";

/// `[Service]` keys of the single-machine unit that say where hookd keeps its data, how it is
/// started and stopped, or how it gets its settings: a cluster node may set these otherwise.
/// Every other key is part of the sandbox and must be the same in both units.
const NOT_SANDBOX: &[&str] = &[
    "Type",
    "ExecStart",
    "Environment",
    "EnvironmentFile",
    "LoadCredential",
    "StateDirectory",
    "StateDirectoryMode",
    "WorkingDirectory",
    "Restart",
    "RestartSec",
    "KillSignal",
    "TimeoutStopSec",
    "LimitNOFILE",
];

/// `KEY=value` pairs of a unit's `Environment=` lines.
fn unit_env(unit: &Unit) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for line in unit["Service"].get("Environment").into_iter().flatten() {
        for pair in line.split_whitespace() {
            if let Some((k, v)) = pair.trim_matches('"').split_once('=') {
                env.insert(k.to_string(), v.to_string());
            }
        }
    }
    env
}

#[test]
fn cluster_unit_keeps_the_single_node_sandbox_and_names_postgres() {
    let single = parse_unit(&read(UNIT));
    let node = parse_unit(&read(CLUSTER_UNIT));
    let s = "Service";
    let sandbox: Vec<&String> = single[s]
        .keys()
        .filter(|k| !NOT_SANDBOX.contains(&k.as_str()))
        .collect();
    // The single-machine unit's sandbox is some twenty directives; a parser that found none
    // would make the comparison below empty.
    assert!(sandbox.len() >= 20, "sandbox directives found: {sandbox:?}");
    for key in sandbox {
        assert_eq!(
            node[s].get(key),
            single[s].get(key),
            "{CLUSTER_UNIT}: [Service] {key}= as in {UNIT}"
        );
    }
    for key in ["ExecStart", "Restart", "KillSignal", "TimeoutStopSec"] {
        assert_eq!(
            last(&node, s, key),
            last(&single, s, key),
            "{CLUSTER_UNIT}: [Service] {key}= as in {UNIT}"
        );
    }
    assert_eq!(
        last(&node, "Install", "WantedBy"),
        Some("multi-user.target")
    );

    // The postgres backend, its URL from a credential, and no data directory.
    let env = unit_env(&node);
    assert_eq!(
        env.get("HOOKD_STORAGE_BACKEND").map(String::as_str),
        Some("postgres"),
        "{CLUSTER_UNIT}: Environment=HOOKD_STORAGE_BACKEND=postgres, got {env:?}"
    );
    assert!(
        !env.contains_key("HOOKD_DATA_DIR") && !node[s].contains_key("StateDirectory"),
        "{CLUSTER_UNIT}: a node keeps nothing on its disk"
    );
    let credentials: Vec<&str> = node[s]
        .get("LoadCredential")
        .into_iter()
        .flatten()
        .filter_map(|c| c.split_once(':').map(|(name, _)| name))
        .collect();
    for var in ["HOOKD_POSTGRES_URL_FILE", "HOOKD_ADMIN_TOKEN_FILE"] {
        let path = env
            .get(var)
            .unwrap_or_else(|| panic!("{CLUSTER_UNIT}: Environment={var}=…, got {env:?}"));
        let credential = path
            .strip_prefix("%d/")
            .unwrap_or_else(|| panic!("{CLUSTER_UNIT}: {var} names a credential (%d/…): {path}"));
        assert!(
            credentials.contains(&credential),
            "{CLUSTER_UNIT}: {var} reads the credential {credential:?}, loaded by LoadCredential= \
             (loaded: {credentials:?})"
        );
    }
    assert!(
        !env.contains_key("HOOKD_POSTGRES_URL") && !env.contains_key("HOOKD_ADMIN_TOKEN"),
        "{CLUSTER_UNIT}: secrets stay out of the environment"
    );
}

#[test]
fn cluster_unit_passes_systemd_analyze_verify() {
    verify_with_systemd(CLUSTER_UNIT);
}

/// A node of the YAML subset the Compose file is written in: block mappings, block sequences,
/// and scalars (a flow sequence such as `["CMD", "x"]` stays one scalar).
#[derive(Debug, Clone, PartialEq)]
enum Yaml {
    Scalar(String),
    Map(Vec<(String, Yaml)>),
    List(Vec<Yaml>),
}

impl Yaml {
    fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn str(&self) -> Option<&str> {
        match self {
            Yaml::Scalar(s) => Some(s),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        match self {
            Yaml::Map(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    fn items(&self) -> Vec<&str> {
        match self {
            Yaml::List(items) => items.iter().filter_map(Yaml::str).collect(),
            _ => Vec::new(),
        }
    }

    /// The value at a path of keys.
    fn at(&self, path: &[&str]) -> Option<&Yaml> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }
}

/// Reads the YAML subset of [`Yaml`]; panics on anything else (anchors and aliases included),
/// so the Compose file stays readable by this test.
fn parse_yaml(text: &str) -> Yaml {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| (l.len() - l.trim_start().len(), l.trim()))
        .collect();
    let mut at = 0;
    let node = yaml_block(&lines, &mut at, 0);
    assert_eq!(
        at,
        lines.len(),
        "YAML: unexpected indentation at {:?}",
        lines.get(at)
    );
    node
}

fn yaml_scalar(text: &str) -> String {
    assert!(
        !text.starts_with('&') && !text.starts_with('*') && !text.starts_with('{'),
        "YAML: only plain scalars, flow sequences and block collections here: {text:?}"
    );
    let unquoted = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')));
    unquoted.unwrap_or(text).to_string()
}

/// The block starting at `lines[*at]`, whose lines are indented by `indent`.
fn yaml_block(lines: &[(usize, &str)], at: &mut usize, indent: usize) -> Yaml {
    let is_list = lines[*at].1.starts_with("- ");
    let mut map = Vec::new();
    let mut list = Vec::new();
    while let Some(&(depth, line)) = lines.get(*at) {
        if depth < indent {
            break;
        }
        assert_eq!(depth, indent, "YAML: unexpected indentation: {line:?}");
        *at += 1;
        if is_list {
            let item = line
                .strip_prefix("- ")
                .unwrap_or_else(|| panic!("YAML: a list item expected: {line:?}"));
            list.push(Yaml::Scalar(yaml_scalar(item)));
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("YAML: not a key: value line: {line:?}"));
        let value = value.trim();
        let child = if !value.is_empty() {
            Yaml::Scalar(yaml_scalar(value))
        } else {
            match lines.get(*at) {
                // A nested block (a list may also sit at its key's own indentation).
                Some(&(d, next)) if d > indent || (d == indent && next.starts_with("- ")) => {
                    yaml_block(lines, at, d)
                }
                _ => Yaml::Scalar(String::new()),
            }
        };
        map.push((yaml_scalar(key.trim()), child));
    }
    if is_list {
        Yaml::List(list)
    } else {
        Yaml::Map(map)
    }
}

#[test]
fn yaml_subset_parser_reads_maps_lists_and_scalars() {
    let doc = parse_yaml(
        "# c\nname: x\nservices:\n  a:\n    image: \"postgres:16\"\n    ports:\n      - \"8081:8080\"\n    test: [\"CMD\", \"y\"]\n  b:\n    env:\n      K: v\nvolumes:\n  data:\n",
    );
    assert_eq!(doc.keys(), ["name", "services", "volumes"]);
    assert_eq!(
        doc.at(&["services", "a", "image"]).and_then(Yaml::str),
        Some("postgres:16")
    );
    assert_eq!(
        doc.at(&["services", "a", "ports"]).unwrap().items(),
        ["8081:8080"]
    );
    assert_eq!(
        doc.at(&["services", "a", "test"]).and_then(Yaml::str),
        Some("[\"CMD\", \"y\"]")
    );
    assert_eq!(
        doc.at(&["services", "b", "env", "K"]).and_then(Yaml::str),
        Some("v")
    );
    assert_eq!(doc.at(&["volumes"]).unwrap().keys(), ["data"]);
}

#[test]
fn compose_file_runs_two_hookd_nodes_on_one_postgres() {
    let doc = parse_yaml(&read(COMPOSE));
    let services = doc.get("services").expect("services:");
    let top_secrets = doc.get("secrets").map(Yaml::keys).unwrap_or_default();
    let top_volumes = doc.get("volumes").map(Yaml::keys).unwrap_or_default();

    // One PostgreSQL service (16), its data in a named volume, with a healthcheck.
    let postgres: Vec<&str> = services
        .keys()
        .into_iter()
        .filter(|&name| {
            services
                .at(&[name, "image"])
                .and_then(Yaml::str)
                .is_some_and(|i| i.starts_with("postgres:16"))
        })
        .collect();
    assert_eq!(
        postgres.len(),
        1,
        "one postgres:16 service, found {postgres:?}"
    );
    let db = postgres[0];
    let db_volumes = services
        .at(&[db, "volumes"])
        .expect("postgres volumes:")
        .items();
    assert!(
        db_volumes.iter().any(|v| v
            .split_once(':')
            .is_some_and(|(name, _)| top_volumes.contains(&name))),
        "the database's data in a named volume: {db_volumes:?}"
    );
    assert!(
        services.at(&[db, "healthcheck", "test"]).is_some(),
        "the postgres service has a healthcheck"
    );

    // Two hookd nodes, each built from the repository's Dockerfile.
    let compose_dir = root().join(COMPOSE).parent().unwrap().to_path_buf();
    let nodes: Vec<&str> = services
        .keys()
        .into_iter()
        .filter(|&name| {
            services
                .at(&[name, "build", "context"])
                .and_then(Yaml::str)
                .is_some_and(|c| {
                    compose_dir.join(c).join("Dockerfile").canonicalize().ok()
                        == root().join("Dockerfile").canonicalize().ok()
                })
        })
        .collect();
    assert_eq!(
        nodes.len(),
        2,
        "two hookd services built from the repository's Dockerfile, found {nodes:?}"
    );
    let mut host_ports = Vec::new();
    let mut admin_tokens = Vec::new();
    for &node in &nodes {
        let env = services.at(&[node, "environment"]).expect("environment:");
        let var = |name: &str| env.get(name).and_then(Yaml::str);
        assert_eq!(
            var("HOOKD_STORAGE_BACKEND"),
            Some("postgres"),
            "{node}: HOOKD_STORAGE_BACKEND=postgres"
        );
        assert!(
            var("HOOKD_POSTGRES_URL_FILE").is_some() || var("HOOKD_POSTGRES_URL").is_some(),
            "{node}: HOOKD_POSTGRES_URL or HOOKD_POSTGRES_URL_FILE"
        );
        let secrets = services
            .at(&[node, "secrets"])
            .map(Yaml::items)
            .unwrap_or_default();
        for secret in &secrets {
            assert!(
                top_secrets.contains(secret),
                "{node}: secret {secret} is defined at the top level"
            );
        }
        for file_var in ["HOOKD_POSTGRES_URL_FILE", "HOOKD_ADMIN_TOKEN_FILE"] {
            if let Some(path) = var(file_var) {
                let secret = path.strip_prefix("/run/secrets/").unwrap_or_else(|| {
                    panic!("{node}: {file_var} is a Compose secret (/run/secrets/…): {path}")
                });
                assert!(
                    secrets.contains(&secret),
                    "{node}: {file_var} reads the secret {secret}, which it is given"
                );
            }
        }
        admin_tokens.push(var("HOOKD_ADMIN_TOKEN_FILE").expect("a shared admin token"));
        assert_eq!(
            services
                .at(&[node, "depends_on", db, "condition"])
                .and_then(Yaml::str),
            Some("service_healthy"),
            "{node} starts once the database is healthy"
        );
        let ports = services.at(&[node, "ports"]).expect("ports:").items();
        assert_eq!(ports.len(), 1, "{node}: one published port");
        host_ports.push(ports[0].split(':').next().unwrap().to_string());
    }
    assert_ne!(host_ports[0], host_ports[1], "each node on its own port");
    assert_eq!(
        admin_tokens[0], admin_tokens[1],
        "one admin token for both nodes"
    );

    // The secrets' files stay out of git and out of the image's build context.
    let ignored = read(".dockerignore");
    assert!(
        ignored
            .lines()
            .any(|l| l.trim() == "contrib/cluster/secrets/"),
        ".dockerignore lists contrib/cluster/secrets/"
    );
}
