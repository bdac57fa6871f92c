//! The packaged hosts (`scripts/package.sh x86_64|arm64`): both zips hold
//! `bootstrap` at their root and need at most glibc 2.34 (Amazon Linux
//! 2023's), and the arm64 one, under `qemu-aarch64` (Debian's qemu-user,
//! `-L /usr/aarch64-linux-gnu`) against cargo-lambda's emulator, starts from
//! an S3 release on moto with guests `publish` precompiled for aarch64 and
//! serves seed 004's request through the host's model, a Python guest and
//! a warmer ping.
//!
//! Not part of `cargo test`: it needs the zips first. The test command
//! packages the x86_64 one (the release build it made, stripped) and runs
//! `cargo test --release --test packages -- x86_64`; the arm64 zip is a
//! cross build (~13 min here), so `scripts/test-arm64.sh` builds both and
//! runs every test here.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::json;
use wasm_lambda_tests::{Emulator, GuestFolder, HostProcess, S3Server, workspace_root};

/// The native host: it publishes (and precompiles for both architectures).
const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");
const LOCATION: &str = "s3://arm64/team/";
const MAX_GLIBC: (u32, u32) = (2, 34);

fn zip_path(arch: &str) -> PathBuf {
    let zip = workspace_root().join(format!("target/lambda/{arch}/bootstrap.zip"));
    assert!(
        zip.exists(),
        "{} is missing: run scripts/package.sh {arch} (scripts/test-arm64.sh does)",
        zip.display()
    );
    zip
}

/// Unpacks the zip's `bootstrap` into `dir`, checking it is the only entry,
/// at the root, and executable.
fn unpack_bootstrap(zip: &Path, dir: &Path) -> PathBuf {
    let script = r#"
import os, stat, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    names = z.namelist()
    assert names == ["bootstrap"], f"entries: {names}"
    info = z.getinfo("bootstrap")
    mode = info.external_attr >> 16
    assert mode & stat.S_IXUSR, f"bootstrap is not executable: {oct(mode)}"
    z.extract("bootstrap", sys.argv[2])
os.chmod(os.path.join(sys.argv[2], "bootstrap"), 0o755)
"#;
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(zip)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}: {}",
        zip.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    dir.join("bootstrap")
}

/// The newest `GLIBC_x.y` the binary needs (readelf reads any
/// architecture's ELF).
fn newest_glibc(binary: &Path) -> (u32, u32) {
    let output = Command::new("readelf")
        .args(["--version-info", "--wide"])
        .arg(binary)
        .output()
        .expect("readelf (binutils)");
    let text = String::from_utf8_lossy(&output.stdout);
    text.split("GLIBC_")
        .skip(1)
        .filter_map(|rest| {
            let version: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
        })
        .max()
        .unwrap_or_else(|| panic!("{} needs no glibc version at all?", binary.display()))
}

/// The zip of `arch` holds an executable `bootstrap` for `machine` that
/// needs glibc 2.34 at most and fits Lambda's direct upload.
fn check_zip(arch: &str, machine: &str) {
    let dir = GuestFolder::new(&format!("zip-{arch}"));
    let bootstrap = unpack_bootstrap(&zip_path(arch), dir.root());
    let needed = newest_glibc(&bootstrap);
    assert!(
        needed <= MAX_GLIBC,
        "{arch}: bootstrap needs GLIBC_{}.{}, Amazon Linux 2023 has 2.34",
        needed.0,
        needed.1
    );
    let header = Command::new("readelf")
        .arg("-h")
        .arg(&bootstrap)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&header.stdout).contains(machine),
        "{arch}: not an {machine} binary"
    );
    let size = std::fs::metadata(zip_path(arch)).unwrap().len();
    assert!(
        size < 50 << 20,
        "{arch}: {size} bytes, over Lambda's 50 MB direct upload"
    );
    println!(
        "{arch}: zip {:.1} MB, bootstrap {:.1} MB, needs GLIBC_{}.{}",
        size as f64 / 1048576.0,
        std::fs::metadata(&bootstrap).unwrap().len() as f64 / 1048576.0,
        needed.0,
        needed.1
    );
}

#[test]
fn the_x86_64_zip_holds_a_bootstrap_that_needs_at_most_glibc_2_34() {
    check_zip("x86_64", "X86-64");
}

#[test]
fn the_arm64_zip_holds_a_bootstrap_that_needs_at_most_glibc_2_34() {
    check_zip("arm64", "AArch64");
}

#[test]
fn the_arm64_host_serves_a_release_precompiled_for_aarch64_under_qemu() {
    let s3 = S3Server::start();
    s3.create_bucket("arm64");
    let folder = GuestFolder::new("arm64-release")
        .with_guest("classifier", "classifier")
        .with_guest("classifier-py", "classifier-py")
        .with_model("seed_forest", "seed_forest");
    let (published, _) = s3.publish(HOST.as_ref(), &folder, LOCATION);
    assert!(published.contains("aarch64"), "{published}");

    // The arm64 bootstrap, run by qemu-aarch64 with Debian's aarch64 glibc.
    let lambda_dir = GuestFolder::new("arm64-host");
    let bootstrap = unpack_bootstrap(&zip_path("arm64"), lambda_dir.root());
    let wrapper = lambda_dir.root().join("qemu-bootstrap");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec qemu-aarch64 -L /usr/aarch64-linux-gnu {} \"$@\"\n",
            bootstrap.display()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&wrapper)
        .status()
        .unwrap();

    let emulator = Emulator::start();
    // 512 MB, the templates' default: both guests are instantiated at init.
    let mut env = s3.release_env(LOCATION);
    env.push(("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), "512".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let started = Instant::now();
    let host = HostProcess::start(&wrapper, &emulator.runtime_api(), &lambda_dir, &env);
    let log = host.wait_for_log("init complete");
    let init = started.elapsed();
    // Both guests from the release's aarch64 code: nothing compiled here.
    assert!(
        log.contains("precompiled=2") && log.contains("compiled=0"),
        "{log}"
    );

    let seed = json!({"data": [0, 0, 0, 0]});
    for guest in ["classifier", "classifier-py"] {
        let answer = emulator
            .invoke(&json!({"guest": guest, "event": seed}))
            .answer();
        assert_eq!(answer["statusCode"], 200, "{guest}: {answer}");
        assert_eq!(answer["body"], 1, "{guest}: seed 004's answer: {answer}");
    }
    let ping = emulator
        .invoke(&json!({"warmer": true, "concurrency": 1}))
        .answer();
    assert_eq!(ping["warmed"], true, "{ping}");
    for guest in ["classifier", "classifier-py"] {
        assert_eq!(ping["guests"][guest]["ok"], true, "{guest}: {ping}");
    }
    println!(
        "arm64 host under qemu-aarch64: process start to init complete {:.0} ms (a sanity figure: emulated)",
        init.as_secs_f64() * 1e3
    );
}
