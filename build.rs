//! Builds the map page (`web/`, OpenLayers + TypeScript, bundled by esbuild) into `OUT_DIR`
//! and writes `web_assets.rs`, the table `src/api/page.rs` embeds with `include_bytes!`, so
//! `servicemap` stays one file. Needs node and npm; npm downloads only from the npm registry,
//! pinned by `web/package-lock.json`. `npm ci` runs only when that lockfile changed since the
//! last install; the bundling itself takes about a second.
//!
//! `SERVICEMAP_WEB_DIST=DIR` embeds an already built page instead (a machine without node).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use std::{env, fs};

fn main() {
    let (Some(root), Some(out_dir)) = (env::var_os("CARGO_MANIFEST_DIR"), env::var_os("OUT_DIR"))
    else {
        fail("CARGO_MANIFEST_DIR or OUT_DIR unset: run this through cargo");
    };
    let (root, out_dir) = (PathBuf::from(root), PathBuf::from(out_dir));
    for p in [
        "web/src",
        "web/build.mjs",
        "web/package.json",
        "web/package-lock.json",
    ] {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rerun-if-env-changed=SERVICEMAP_WEB_DIST");

    let dist = if let Some(dir) = env::var_os("SERVICEMAP_WEB_DIST") {
        PathBuf::from(dir)
    } else {
        let dist = out_dir.join("web");
        if let Err(msg) = build_page(&root.join("web"), &dist) {
            fail(&msg);
        }
        dist
    };
    write_table(&dist, &out_dir.join("web_assets.rs"));
}

/// Stop the build with a message.
fn fail(msg: &str) -> ! {
    eprintln!("\nerror: building the map page (web/): {msg}\n");
    std::process::exit(1);
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("`{what}` failed ({s}); its output is above")),
        Err(e) => Err(format!(
            "cannot run `{what}`: {e}. Install Node.js 18+ with npm (Debian: apt-get install nodejs npm), \
             or set SERVICEMAP_WEB_DIST to a directory built by `npm run build`"
        )),
    }
}

/// A directory used as a lock: one cargo invocation can run this script twice at once (one
/// run per profile), and two `npm ci` in the same directory break each other. A lock older
/// than ten minutes is left from a killed build and is taken over.
struct DirLock(PathBuf);

impl DirLock {
    fn acquire(path: PathBuf) -> Result<DirLock, String> {
        loop {
            match fs::create_dir(&path) {
                Ok(()) => return Ok(DirLock(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > Duration::from_secs(600));
                    if stale {
                        let _ = fs::remove_dir(&path);
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
    }
}

/// Install (when the lockfile changed) and bundle; the lock is released before any error is
/// reported.
fn build_page(web: &Path, dist: &Path) -> Result<(), String> {
    let _lock = DirLock::acquire(web.join(".npm-ci.lock"))?;
    let lock = fs::read(web.join("package-lock.json"))
        .map_err(|e| format!("web/package-lock.json: {e}"))?;
    // A copy of the lockfile the modules were installed from: a changed lockfile reinstalls.
    let stamp = web.join("node_modules/.servicemap-installed-lock");
    if fs::read(&stamp).ok().as_deref() != Some(lock.as_slice()) {
        run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(web),
            "npm ci",
        )?;
        fs::write(&stamp, &lock).map_err(|e| format!("{}: {e}", stamp.display()))?;
    }
    run(
        Command::new("node")
            .arg("build.mjs")
            .arg(dist)
            .current_dir(web),
        "node build.mjs",
    )
}

/// `pub static ASSETS: &[(&str, &[u8])]`: every file of `dist` (flat), sorted by name.
fn write_table(dist: &Path, to: &Path) {
    let mut files: Vec<PathBuf> = fs::read_dir(dist)
        .unwrap_or_else(|e| fail(&format!("{}: {e}", dist.display())))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    if !files.iter().any(|p| p.ends_with("index.html")) {
        fail(&format!("{} has no index.html", dist.display()));
    }
    let mut src = String::from(
        "/// The built map page: (file name, bytes); written by build.rs.\npub static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for p in files {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_else(|| fail("non-UTF-8 file name"));
        let _ = writeln!(
            src,
            "    ({name:?}, include_bytes!({:?})),",
            p.display().to_string()
        );
    }
    src.push_str("];\n");
    fs::write(to, src).unwrap_or_else(|e| fail(&format!("{}: {e}", to.display())));
}
