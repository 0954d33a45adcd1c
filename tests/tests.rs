//! rangecat's integration tests: one binary, one module per area.
//!
//! Every server a test talks to listens on 127.0.0.1 and is started by the test itself.

// Tests list expected byte ranges; `&[0..100]` is a list of one range, as meant.
#![allow(clippy::single_range_in_vec_init)]

mod util;

// `rangecat URL RANGE...` against httpmock: exact Range headers and request counts.
mod fetch;
// Behaviour against the fault-injecting server: 200s, refused HEAD, cut connections,
// changed validators, stalls, 416.
mod faults;
// Short and length-less answers: capped 206s, `bytes a-b/*`, a chunked 200 without a length.
mod short;
// Retries: 429/502/503/504 and broken connections, Retry-After, backoff, a 403 mid-operation.
mod retries;
// Bad input: malformed RANGE, unknown option, 404, refused connection, --strict, -o targets.
mod errors;
// -j: segments over several connections.
mod segments;
// --multipart: multi-range requests and their multipart/byteranges answers.
mod multipart;
// HTTP_PROXY, HTTPS_PROXY, NO_PROXY.
mod proxy;
// stderr: -v, the progress bar, -q.
mod report;
// Local files and file:// URLs.
mod local;
// -o: stdout, FIFOs, links, directories, signals.
mod output;
// -c/--continue: interrupted -o downloads kept and continued.
mod resume;
// Passwords and presigned-URL signatures never printed.
mod secrets;
// Redirects across origins: credentials stay with their origin; -u.
mod redirects;
// Control characters from archives and servers never reach a terminal raw.
mod terminal;
// `rangecat info`.
mod info;
// s3:// URLs: presigned requests, the credential chain, --no-sign-request (a stand-in store).
mod s3;
// TLS trust: --cacert, SSL_CERT_FILE/SSL_CERT_DIR, -k, for every command and serve's upstream.
mod tls;
// Byte-exact ranges against a real nginx (skipped without nginx unless CI=true).
mod interop;
// The real-server matrix: byte-exact ranges and request counts on nginx, Apache, lighttpd,
// busybox httpd, Starlette and Werkzeug, each in its own dialect (skipped when not installed
// unless CI=true).
mod dialects;
// The S3 servers of util::s3_server: what s3s-fs and moto answer to signed, expired, wrongly
// signed, unsigned, ranged and multi-range requests.
mod s3_servers;
// s3:// against s3s-fs and moto: byte-exact RANGEs, info, ls/cat/x, each credential source,
// errors, --no-sign-request, --multipart per range, serve in front of a bucket.
mod s3_stores;
// Zip: `ls` (listing, formats, request counts, bad archives).
mod ls;
// Zip: `cat` (members, methods, CRC, request counts).
mod cat;
// Zip: `x` (extraction, path safety, overwrite, concurrency).
mod extract;
// Zip: real archives made by other tools (tests/data).
mod archives;
// Zip: archives made at test time by zip, fastjar and 7-Zip: x against unzip -d, request
// counts (skipped without the tools unless CI=true).
mod tools;
// --in: zips stored inside zips, read in place.
mod nested;
// The metadata cache across invocations.
mod cache;
// The README's first command.
mod readme;
// completions/ and man/ match the clap definitions.
mod generated;
// `rangecat serve`: the Range And Streaming Spec on the wire, limits, backpressure, signals.
mod serve;
// `rangecat serve`: README promises about the process: default address, connect timeout,
// the loopback warning, the default connection cap, shutdown with a request under way.
mod serve_promises;
// `rangecat serve` under hostile or heavy use: smuggling shapes, a client leaving mid-pause,
// 1,000 idle connections, 256 open files, https with -k, log escaping, a graceful stop.
mod serve_hardening;
// `rangecat serve`'s own exchange with the upstream: one kept connection for many requests
// (nginx's log), interim answers, stale kept connections, chunked framing, spliced bodies.
mod serve_engine;
// serve in front of each server of the real-server matrix: each answer is the server's own.
mod serve_dialects;
// The README's memory bounds, from /proc/PID/status: -j, --chunk-size, --max-buffer, spooling,
// zip bombs.
mod memory;
// README promises with no other test: default timeouts, over-long 206 bodies, length changes,
// `x` defaults, progress and mode bits, interrupted extraction.
mod promises;
// The fault matrix: every fault of util::matrix_server against fetch, -o, ls, cat, x and -j 4,
// each cell's outcome stated in a table.
mod fault_matrix;
