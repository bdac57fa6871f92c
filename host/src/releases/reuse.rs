//! Which compiled code (`.cwasm` objects) of the current release a new
//! release can reuse instead of compiling the guest again.
//!
//! A guest's `.wasm` whose sha256 the current release already holds keeps
//! that release's `.cwasm` for an architecture when the object's trailer
//! (read with a ranged GET of its last bytes, not its tens of megabytes)
//! says it was made from those exact bytes, for that architecture, by this
//! host version under this engine configuration: exactly what a host checks
//! before loading it. The release is checked whole by every host anyway
//! (each object against its pinned sha256).
//!
//! A `.cwasm` is native code. A signed release vouches for every object it
//! pins, so `publish --sign KEY` reuses only objects of a release signed by
//! the same key (verified here); anything else it compiles itself.

use std::collections::HashMap;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use wasmtime::Engine;

use super::client::S3;
use super::manifest::{ObjectRef, Pointer, ReleaseManifest};
use super::signing::{TrustedKeys, public_key_text};
use crate::guests::artifact::{self, TAIL_LEN};
use crate::guests::engine::Arch;

/// Trailer reads in flight at once.
const PARALLEL_READS: usize = 8;

/// What to do about one guest's code for one architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// Keep the current release's object.
    Reuse(ObjectRef),
    /// Compile, and why the current release's code does not do.
    Compile(String),
}

/// The current release's compiled code, by `.wasm` sha256 and
/// architecture, with the verdict on each object.
pub struct ReusePlan {
    release: Option<String>,
    /// `None`: the whole release cannot lend code (the reason).
    refused: Option<String>,
    verdicts: HashMap<(String, Arch), Code>,
}

impl ReusePlan {
    /// Nothing to reuse: there is no current release.
    pub fn empty() -> Self {
        Self {
            release: None,
            refused: None,
            verdicts: HashMap::new(),
        }
    }

    /// The release whose code is reused, if any.
    pub fn release(&self) -> Option<&str> {
        self.release.as_deref()
    }

    /// The code for the guest whose `.wasm` has this sha256, for `arch`.
    pub fn code(&self, wasm_sha256: &str, arch: Arch) -> Code {
        if let Some(reason) = &self.refused {
            return Code::Compile(reason.clone());
        }
        self.verdicts
            .get(&(wasm_sha256.to_owned(), arch))
            .cloned()
            .unwrap_or_else(|| Code::Compile("new .wasm".to_owned()))
    }
}

/// Reads the trailers of the current release's `.cwasm` objects whose
/// `.wasm` is among `wanted` (sha256s) and judges each against `compilers`
/// (the engine of each architecture a release carries).
///
/// `signing` is the key the new release will be signed with: only a
/// current release signed by that key lends its code then.
pub async fn plan(
    s3: &S3,
    current: Option<(&Pointer, &ReleaseManifest)>,
    signing: Option<&SigningKey>,
    wanted: &[String],
    compilers: &[(Arch, Engine)],
) -> ReusePlan {
    let Some((pointer, release)) = current else {
        return ReusePlan::empty();
    };
    let mut plan = ReusePlan {
        release: Some(release.id.clone()),
        refused: None,
        verdicts: HashMap::new(),
    };
    if let Some(key) = signing
        && let Err(reason) = signed_by(pointer, key)
    {
        plan.refused = Some(reason);
        return plan;
    }
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL_READS));
    let mut reads = tokio::task::JoinSet::new();
    for guest in &release.contents.guests {
        if !wanted.contains(&guest.wasm.sha256) {
            continue;
        }
        for (arch, engine) in compilers {
            let Some(object) = guest.cwasm.get(arch.as_str()).cloned() else {
                continue;
            };
            let (s3, permits, engine, arch) = (s3.clone(), permits.clone(), engine.clone(), *arch);
            let wasm_sha256 = guest.wasm.sha256.clone();
            reads.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let verdict = judge(&s3, &wasm_sha256, arch, &object, &engine).await;
                ((wasm_sha256, arch), verdict)
            });
        }
    }
    while let Some(read) = reads.join_next().await {
        // A read task cannot panic short of a bug; its guest is then
        // compiled (no verdict), which is always safe.
        if let Ok((key, verdict)) = read {
            plan.verdicts.insert(key, verdict);
        }
    }
    plan
}

/// Whether the current release was signed by `key` (and the signature holds).
fn signed_by(pointer: &Pointer, key: &SigningKey) -> Result<(), String> {
    let refused = |why: &str| Err(format!("the current release is {why}"));
    let Some(signature) = &pointer.signature else {
        return refused("not signed");
    };
    let ours = public_key_text(&key.verifying_key());
    if signature.key != ours {
        return refused("signed by another key");
    }
    match TrustedKeys::only(key.verifying_key()).verify_as(
        "release",
        pointer.manifest.as_bytes(),
        Some(signature),
    ) {
        Ok(_) => Ok(()),
        Err(reason) => Err(format!(
            "the current release's signature does not hold: {reason}"
        )),
    }
}

/// Reads one object's trailer and checks it as a host would before loading.
async fn judge(
    s3: &S3,
    wasm_sha256: &str,
    arch: Arch,
    object: &ObjectRef,
    engine: &Engine,
) -> Code {
    let key = s3.location.object_key(&object.sha256);
    let start = object.size.saturating_sub(TAIL_LEN as u64);
    let tail = match s3.get_range(&key, start..object.size).await {
        Ok(tail) => tail,
        Err(error) => return Code::Compile(format!("its {arch} code could not be read: {error}")),
    };
    let info = match artifact::inspect_tail(&tail, &s3.location.url_of(&key)) {
        Ok(info) => info,
        Err(refusal) => return Code::Compile(format!("its {arch} code: {refusal}")),
    };
    if crate::sources::pin::hex(&info.source) != wasm_sha256 {
        return Code::Compile(format!("its {arch} code: {}", artifact::Refusal::OtherWasm));
    }
    match artifact::compatible(engine, Some(arch), &info) {
        Ok(()) => Code::Reuse(object.clone()),
        Err(refusal) => Code::Compile(format!("its {arch} code: {refusal}")),
    }
}
