//! The process's allocator: mimalloc, called the way its C API is fastest.
//!
//! The `mimalloc` crate's `GlobalAlloc` passes every allocation to
//! `mi_malloc_aligned`, whatever its alignment. That call has a fast path only for
//! blocks of up to 1 KiB; everything larger takes its generic aligned path (~195
//! instructions where plain `mi_malloc` takes a few dozen), and a proxy request
//! makes ~20 such allocations (Pingora's boxed futures, header and body buffers).
//! mimalloc places every block of 16 bytes or more at a 16-byte boundary and
//! smaller ones at 8 (its size classes are whole multiples of 16 from 16 bytes on,
//! and a page's first block starts 16-aligned), so a layout whose alignment is at
//! most 16 and at most its size is served by the plain calls; only larger
//! alignments (cache-padded structures) need the aligned ones.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// What every block of at least this size is aligned to (`MI_MAX_ALIGN_SIZE`).
const GUARANTEED_ALIGN: usize = 16;

/// mimalloc as the global allocator (installed by `main.rs`).
pub struct Mimalloc;

/// Whether a plain (unaligned) mimalloc call already gives `align` for `size` bytes.
fn plain_call_aligns(size: usize, align: usize) -> bool {
    align <= GUARANTEED_ALIGN && align <= size
}

// SAFETY: every block comes from mimalloc and goes back to it; the plain calls are
// used only where mimalloc's placement guarantees the layout's alignment (see the
// module comment), the aligned calls everywhere else.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if plain_call_aligns(layout.size(), layout.align()) {
            mi::mi_malloc(layout.size()) as *mut u8
        } else {
            mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if plain_call_aligns(layout.size(), layout.align()) {
            mi::mi_zalloc(layout.size()) as *mut u8
        } else {
            mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi::mi_free(ptr as *mut c_void)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if plain_call_aligns(new_size, layout.align()) {
            mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
        } else {
            mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Allocates `count` blocks of one layout, checks their alignment, writes every
    /// byte, grows each and frees them all at the end, so that most blocks are not
    /// the first of their page.
    fn round_trip(size: usize, align: usize, count: usize) {
        let layout = Layout::from_size_align(size, align).unwrap();
        let grown_layout = Layout::from_size_align(size * 3 + 1, align).unwrap();
        let mut blocks = Vec::with_capacity(count);
        unsafe {
            for _ in 0..count {
                let p = Mimalloc.alloc(layout);
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0, "size {size} align {align}");
                p.write_bytes(0xab, size);
                blocks.push(p);
            }
            for p in blocks.iter_mut() {
                *p = Mimalloc.realloc(*p, layout, grown_layout.size());
                assert_eq!(*p as usize % align, 0, "grown {size} align {align}");
                assert_eq!(*p.add(size - 1), 0xab, "contents kept");
            }
            for p in blocks {
                Mimalloc.dealloc(p, grown_layout);
            }
        }
    }

    #[test]
    fn every_size_class_keeps_the_alignment_asked_for() {
        // Sizes across the small, medium and large classes, including ones that are
        // not multiples of 16.
        for align in [1usize, 2, 4, 8, 16, 32, 64, 128, 4096] {
            for size in (1..=2048).step_by(7).chain([4096, 13_400, 65_536, 300_000]) {
                let size = size.max(align).next_multiple_of(align);
                round_trip(size, align, if size > 10_000 { 2 } else { 9 });
            }
        }
    }

    #[test]
    fn raw_layouts_smaller_than_their_alignment_are_aligned() {
        for (size, align) in [(1, 16), (8, 16), (24, 32), (100, 128)] {
            round_trip(size, align, 9);
        }
    }

    #[test]
    fn zeroed_blocks_are_zero_and_aligned() {
        for (size, align) in [(16, 16), (1500, 8), (24, 64), (70_000, 16)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            unsafe {
                let p = Mimalloc.alloc_zeroed(layout);
                assert_eq!(p as usize % align, 0);
                assert!(std::slice::from_raw_parts(p, size).iter().all(|b| *b == 0));
                Mimalloc.dealloc(p, layout);
            }
        }
    }
}
