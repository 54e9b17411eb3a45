//! Where a client's request header ends, and whether it broke the header limits,
//! counted as the bytes arrive (`edge::conn` runs the header clock on it).
//!
//! A read at a time, its line ends found by `memchr`, with the outcome of a byte at
//! a time: the limits apply to the bytes before the header's last `\n`, and whatever
//! follows that is body (or a pipelined request), not this header.

/// What a read did to the header.
#[derive(Debug, PartialEq, Eq)]
pub enum Scanned {
    /// The header goes on in the next read.
    More,
    /// The header ended in this read.
    End,
    /// `client.max_header_bytes` or `client.max_headers` was passed.
    TooLarge,
}

/// The header read so far.
#[derive(Debug, Default)]
pub struct HeaderScan {
    bytes: usize,
    lines: usize,
    /// The last bytes read, to find `\r\n\r\n` across reads.
    tail: [u8; 3],
    /// The start of the request line, for the error's dialect.
    request_line: Vec<u8>,
}

impl HeaderScan {
    /// A new header starts (the request line's buffer is kept).
    pub fn reset(&mut self) {
        self.bytes = 0;
        self.lines = 0;
        self.tail = [0; 3];
        self.request_line.clear();
    }

    /// Nothing of this header has been read yet.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// The request line's first bytes (at most 256).
    pub fn request_line(&self) -> &[u8] {
        &self.request_line
    }

    /// Account for `data`, just read, under `max_bytes` and `max_lines`.
    pub fn scan(&mut self, data: &[u8], max_bytes: usize, max_lines: usize) -> Scanned {
        self.keep_request_line(data);
        let end = self.end_in(data);
        let checked = end.unwrap_or(data.len());
        let lines = memchr::memchr_iter(b'\n', &data[..checked]).count();
        if self.bytes + checked > max_bytes || self.lines + lines > max_lines {
            return Scanned::TooLarge;
        }
        let consumed = end.map_or(data.len(), |e| e + 1);
        self.bytes += consumed;
        self.lines += lines + usize::from(end.is_some());
        self.tail = last_three(self.tail, &data[..consumed]);
        match end {
            Some(_) => Scanned::End,
            None => Scanned::More,
        }
    }

    fn keep_request_line(&mut self, data: &[u8]) {
        if self.lines > 0 || self.request_line.len() >= 256 {
            return;
        }
        let line = memchr::memchr(b'\n', data).map_or(data.len(), |i| i + 1);
        let room = 256 - self.request_line.len();
        self.request_line.extend_from_slice(&data[..line.min(room)]);
    }

    /// Where in `data` the header's final `\n` is (its `\r\n\r` may have ended
    /// the previous read).
    fn end_in(&self, data: &[u8]) -> Option<usize> {
        let before = |i: usize, back: usize| match i.checked_sub(back) {
            Some(k) => data[k],
            None => self.tail[3 + i - back],
        };
        memchr::memchr_iter(b'\n', data)
            .find(|&i| before(i, 3) == b'\r' && before(i, 2) == b'\n' && before(i, 1) == b'\r')
    }
}

/// The last three bytes of `tail` followed by `data`.
fn last_three(tail: [u8; 3], data: &[u8]) -> [u8; 3] {
    match data {
        [.., a, b, c] => [*a, *b, *c],
        [b, c] => [tail[2], *b, *c],
        [c] => [tail[1], tail[2], *c],
        [] => tail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    /// The byte-at-a-time scan this replaces: the oracle.
    #[derive(Default)]
    struct ByteScan {
        bytes: usize,
        lines: usize,
        tail: [u8; 3],
        request_line: Vec<u8>,
    }

    impl ByteScan {
        fn scan(&mut self, data: &[u8], max_bytes: usize, max_lines: usize) -> Scanned {
            for &b in data {
                if self.request_line.len() < 256 && self.lines == 0 {
                    self.request_line.push(b);
                }
                self.bytes += 1;
                if b == b'\n' {
                    self.lines += 1;
                }
                let end = self.tail == [b'\r', b'\n', b'\r'] && b == b'\n';
                self.tail = [self.tail[1], self.tail[2], b];
                if end {
                    return Scanned::End;
                }
                if self.bytes > max_bytes || self.lines > max_lines {
                    return Scanned::TooLarge;
                }
            }
            Scanned::More
        }
    }

    #[test]
    fn reads_of_any_split_end_and_refuse_as_a_byte_at_a_time_would() {
        let headers: [&[u8]; 4] = [
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}",
            b"GET / HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n",
            b"POST /v1/messages HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\ne: 5\r\n\r\n",
            b"\r\n\r\n\r\n",
        ];
        let mut rng = Rng(0x2545_F491);
        for round in 0..2_000 {
            let mut input = headers[round % headers.len()].to_vec();
            if round % 3 == 0 {
                input = rng.mutate(&input);
            }
            let (max_bytes, max_lines) = (10 + rng.below(80), 1 + rng.below(6));
            let (mut fast, mut slow) = (HeaderScan::default(), ByteScan::default());
            let mut at = 0;
            loop {
                let take = (1 + rng.below(9)).min(input.len() - at);
                let part = &input[at..at + take];
                let (a, b) = (
                    fast.scan(part, max_bytes, max_lines),
                    slow.scan(part, max_bytes, max_lines),
                );
                assert_eq!(a, b, "round {round}: {input:?} at {at}+{take}");
                at += take;
                if a != Scanned::More || at == input.len() {
                    break;
                }
                assert_eq!(
                    (fast.bytes, fast.lines, fast.tail),
                    (slow.bytes, slow.lines, slow.tail)
                );
            }
            if fast.lines > 0 {
                assert_eq!(fast.request_line, slow.request_line, "round {round}");
            }
        }
    }
}
