//! Compiles the tiny fake CLI of items 1, 2 and 5 (`tiny-cli/tiny_cli.c`)
//! with the C compiler Rust links with: freestanding (no C library) on 64-bit
//! Linux (x86_64, aarch64), else with the C library statically, else
//! dynamically; each build for this machine is run once and kept only when it
//! works. Beside a freestanding one, the same program on the C library
//! (`TINY_CLI_LIBC`, for a report row). The bench finds it through
//! `env!("TINY_CLI")`; when no C compiler works, `TINY_CLI` is empty and the
//! bench uses fake-claude instead (and says so).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = PathBuf::from("tiny-cli/tiny_cli.c");
    println!("cargo:rerun-if-changed={}", src.display());
    let target = std::env::var("TARGET").unwrap_or_default();
    let target_cc = format!("CC_{}", target.replace('-', "_"));
    for v in [target_cc.as_str(), "TARGET_CC", "CC"] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    // The C compiler for the target, as the `cc` crate looks for it.
    let cc = [target_cc.as_str(), "TARGET_CC", "CC"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "cc".into());
    // Built for this machine: each build is run once (empty stdin) and kept
    // only when it prints the result line and exits 0.
    let native = std::env::var("HOST").ok() == std::env::var("TARGET").ok();
    let compile = |out: &PathBuf, flags: &[&str]| {
        let built = Command::new(&cc)
            .args(["-O2", "-o"])
            .arg(out)
            .args(flags)
            .arg(&src)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        built && (!native || runs(out))
    };
    // Freestanding (no C library: no C-library start-up in every run), else
    // the C library linked statically, else dynamically.
    const FREESTANDING: &[&str] = &[
        "-DTINY_NOLIBC",
        "-static",
        "-nostdlib",
        "-ffreestanding",
        "-fno-builtin",
        "-fno-stack-protector",
        "-fno-pie",
        "-no-pie",
    ];
    let builds: [(&str, &[&str]); 3] = [
        ("freestanding", FREESTANDING),
        ("static", &["-static"]),
        ("dynamic", &[]),
    ];
    // The system call numbers and `_start` of the freestanding build are
    // 64-bit Linux's (x86_64, aarch64; the C file refuses the rest).
    let linux64 = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_POINTER_WIDTH").as_deref() == Ok("64");
    let out = out_dir.join("tiny-cli");
    let built = builds
        .iter()
        .filter(|(how, _)| linux64 || *how != "freestanding")
        .find(|(_, flags)| compile(&out, flags))
        .map(|(how, _)| *how)
        .unwrap_or("");
    if built.is_empty() {
        println!(
            "cargo:warning=could not compile {} with {cc}: the bench will use fake-claude",
            src.display()
        );
        println!("cargo:rustc-env=TINY_CLI=");
    } else {
        println!("cargo:rustc-env=TINY_CLI={}", out.display());
    }
    println!("cargo:rustc-env=TINY_CLI_LINK={built}");
    // The same program on the C library, for the report row that shows what
    // the C-library start-up does to item 1's ratio.
    let libc_out = out_dir.join("tiny-cli-libc");
    let libc_built =
        built == "freestanding" && builds[1..].iter().any(|(_, f)| compile(&libc_out, f));
    let libc_path = if libc_built {
        libc_out.display().to_string()
    } else {
        String::new()
    };
    println!("cargo:rustc-env=TINY_CLI_LIBC={libc_path}");
}

/// Runs the CLI once with empty stdin: exit 0 and the result line printed.
fn runs(cli: &PathBuf) -> bool {
    Command::new(cli)
        .stdin(std::process::Stdio::null())
        .output()
        .map(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains(r#""type":"result""#)
        })
        .unwrap_or(false)
}
