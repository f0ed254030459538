//! The one place the crate talks to the C library directly.
//!
//! glibc's malloc keeps memory freed by a thread in that thread's arena for reuse instead of
//! returning it to the system. Start-up parses and indexes the data on several threads, and
//! every edit retires a whole snapshot; what they free stays resident until `malloc_trim`
//! hands the free pages of every arena back (issue 15: resident memory at start and flat
//! through a soak). Measured on the default data: 22.8 MB held by malloc after start-up,
//! 17.9 MB of it in use.
#![allow(unsafe_code)]

/// Return the free pages of every malloc arena to the system. Cheap when little is free;
/// call it when a burst of freeing is over, not per request.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only walks the allocator's own free lists under its locks;
        // it takes no pointer from us and is safe to call from any thread at any time.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
