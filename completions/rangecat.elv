
use builtin;
use str;

set edit:completion:arg-completer[rangecat] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'rangecat'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'rangecat'= {
            cand -o 'Write to FILE instead of stdout (replaced only when the transfer succeeds)'
            cand --output 'Write to FILE instead of stdout (replaced only when the transfer succeeds)'
            cand --gap 'Merge ranges separated by fewer than BYTES into one request'
            cand --max-buffer 'Keep at most BYTES of downloaded data for reuse by later ranges; past it, re-request'
            cand -j 'Keep up to N requests in flight at once (transfers over 8 MiB go in 4 MiB segments)'
            cand --jobs 'Keep up to N requests in flight at once (transfers over 8 MiB go in 4 MiB segments)'
            cand -H 'Add a request header, ''Name: value'' (repeatable)'
            cand --header 'Add a request header, ''Name: value'' (repeatable)'
            cand -u 'Basic authentication, USER:PASSWORD (USER alone: an empty password)'
            cand --user 'Basic authentication, USER:PASSWORD (USER alone: an empty password)'
            cand --connect-timeout 'Seconds to wait for a connection'
            cand --timeout 'Seconds a read or write may stall before the transfer fails'
            cand --retries 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer'
            cand --chunk-size 'Read and write in pieces of BYTES'
            cand --cacert 'Also trust the CA certificates in FILE (PEM) for https'
            cand -c 'With -o FILE: keep what an interrupted download fetched, and fetch only the rest when run again with -c'
            cand --continue 'With -o FILE: keep what an interrupted download fetched, and fetch only the rest when run again with -c'
            cand --strict 'Fail (exit 1) if a RANGE is not wholly inside the resource, before writing anything'
            cand --no-coalesce 'Send one request per RANGE as given: no merging, no reuse'
            cand --multipart 'Ask for many ranges in one request (multipart/byteranges), in batches'
            cand --location-trusted 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to'
            cand --allow-insecure-redirect 'Follow redirects from https to plain http'
            cand --no-sign-request 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)'
            cand -k 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
            cand --insecure 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
            cand --no-cache 'Neither use nor fill the metadata cache for this command'
            cand -v 'Log each request and response on stderr'
            cand --verbose 'Log each request and response on stderr'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand --progress 'Draw the progress bar even when stderr is not a terminal'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand info 'Probe URL: length, whether ranges work, type and validators'
            cand ls 'List a zip archive''s entries, reading only its central directory'
            cand cat 'Write zip members'' decompressed bytes to stdout, one request each'
            cand x 'Extract zip members into a directory'
            cand serve 'Serve a range-aware streaming HTTP proxy to one upstream'
            cand completions 'Print a shell completion script to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rangecat;info'= {
            cand -H 'Add a request header, ''Name: value'' (repeatable)'
            cand --header 'Add a request header, ''Name: value'' (repeatable)'
            cand -u 'Basic authentication, USER:PASSWORD (USER alone: an empty password)'
            cand --user 'Basic authentication, USER:PASSWORD (USER alone: an empty password)'
            cand --connect-timeout 'Seconds to wait for a connection'
            cand --timeout 'Seconds a read or write may stall before the transfer fails'
            cand --retries 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer'
            cand --chunk-size 'Read and write in pieces of BYTES'
            cand --cacert 'Also trust the CA certificates in FILE (PEM) for https'
            cand --json 'Print one JSON object instead of text'
            cand --location-trusted 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to'
            cand --allow-insecure-redirect 'Follow redirects from https to plain http'
            cand --no-sign-request 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)'
            cand -k 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
            cand --insecure 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
            cand --no-cache 'Neither use nor fill the metadata cache for this command'
            cand -v 'Log each request and response on stderr'
            cand --verbose 'Log each request and response on stderr'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand --progress 'Draw the progress bar even when stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rangecat;ls'= {
            cand --in 'Read the zip stored as MEMBER of the archive, in place (repeat for deeper levels)'
            cand -H 'Add a request header, ''Name: value'' (repeatable)'
            cand --header 'Add a request header, ''Name: value'' (repeatable)'
            cand -u 'Basic authentication, USER:PASSWORD (USER alone: an empty password)'
            cand --user 'Basic authentication, USER:PASSWORD (USER alone: an empty password)'
            cand --connect-timeout 'Seconds to wait for a connection'
            cand --timeout 'Seconds a read or write may stall before the transfer fails'
            cand --retries 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer'
            cand --chunk-size 'Read and write in pieces of BYTES'
            cand --cacert 'Also trust the CA certificates in FILE (PEM) for https'
            cand -l 'Long listing: size, compressed size, method, modified, CRC-32, name, and a total'
            cand --long 'Long listing: size, compressed size, method, modified, CRC-32, name, and a total'
            cand -h 'With -l, sizes in human-readable units (KiB, MiB, ...)'
            cand --human-readable 'With -l, sizes in human-readable units (KiB, MiB, ...)'
            cand --json 'One JSON object per entry per line'
            cand --help 'Print help'
            cand --location-trusted 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to'
            cand --allow-insecure-redirect 'Follow redirects from https to plain http'
            cand --no-sign-request 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)'
            cand -k 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
            cand --insecure 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
            cand --no-cache 'Neither use nor fill the metadata cache for this command'
            cand -v 'Log each request and response on stderr'
            cand --verbose 'Log each request and response on stderr'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand --progress 'Draw the progress bar even when stderr is not a terminal'
        }
        &'rangecat;cat'= {
            cand --in 'Read the zip stored as MEMBER of the archive, in place (repeat for deeper levels)'
            cand -H 'Add a request header, ''Name: value'' (repeatable)'
            cand --header 'Add a request header, ''Name: value'' (repeatable)'
            cand -u 'Basic authentication, USER:PASSWORD (USER alone: an empty password)'
            cand --user 'Basic authentication, USER:PASSWORD (USER alone: an empty password)'
            cand --connect-timeout 'Seconds to wait for a connection'
            cand --timeout 'Seconds a read or write may stall before the transfer fails'
            cand --retries 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer'
            cand --chunk-size 'Read and write in pieces of BYTES'
            cand --cacert 'Also trust the CA certificates in FILE (PEM) for https'
            cand --location-trusted 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to'
            cand --allow-insecure-redirect 'Follow redirects from https to plain http'
            cand --no-sign-request 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)'
            cand -k 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
            cand --insecure 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
            cand --no-cache 'Neither use nor fill the metadata cache for this command'
            cand -v 'Log each request and response on stderr'
            cand --verbose 'Log each request and response on stderr'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand --progress 'Draw the progress bar even when stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rangecat;x'= {
            cand --in 'Read the zip stored as MEMBER of the archive, in place (repeat for deeper levels)'
            cand -C 'Extract under DIR'
            cand --directory 'Extract under DIR'
            cand -j 'Requests, and members being written, at once'
            cand --jobs 'Requests, and members being written, at once'
            cand -H 'Add a request header, ''Name: value'' (repeatable)'
            cand --header 'Add a request header, ''Name: value'' (repeatable)'
            cand -u 'Basic authentication, USER:PASSWORD (USER alone: an empty password)'
            cand --user 'Basic authentication, USER:PASSWORD (USER alone: an empty password)'
            cand --connect-timeout 'Seconds to wait for a connection'
            cand --timeout 'Seconds a read or write may stall before the transfer fails'
            cand --retries 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer'
            cand --chunk-size 'Read and write in pieces of BYTES'
            cand --cacert 'Also trust the CA certificates in FILE (PEM) for https'
            cand --overwrite 'Replace files that already exist'
            cand -n 'Extract only what does not exist yet; keep the rest quietly (as `unzip -n`)'
            cand --skip-existing 'Extract only what does not exist yet; keep the rest quietly (as `unzip -n`)'
            cand --location-trusted 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to'
            cand --allow-insecure-redirect 'Follow redirects from https to plain http'
            cand --no-sign-request 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)'
            cand -k 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
            cand --insecure 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
            cand --no-cache 'Neither use nor fill the metadata cache for this command'
            cand -v 'Log each request and response on stderr'
            cand --verbose 'Log each request and response on stderr'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand --progress 'Draw the progress bar even when stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rangecat;serve'= {
            cand --upstream 'The upstream base URL: GET and HEAD /PATH are proxied to BASE/PATH, and nowhere else'
            cand --listen 'Address to listen on'
            cand --max-connections 'Most client connections served at once; more are answered 503 [default: (the open-file limit - 64) / 2, after raising the limit to its hard limit]'
            cand --keepalive-timeout 'Seconds an idle keep-alive connection is kept open for its next request'
            cand -H 'Add a request header, ''Name: value'' (repeatable)'
            cand --header 'Add a request header, ''Name: value'' (repeatable)'
            cand -u 'Basic authentication, USER:PASSWORD (USER alone: an empty password)'
            cand --user 'Basic authentication, USER:PASSWORD (USER alone: an empty password)'
            cand --connect-timeout 'Seconds to wait for a connection'
            cand --timeout 'Seconds a read or write may stall before the transfer fails'
            cand --retries 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer'
            cand --chunk-size 'Read and write in pieces of BYTES'
            cand --cacert 'Also trust the CA certificates in FILE (PEM) for https'
            cand --location-trusted 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to'
            cand --allow-insecure-redirect 'Follow redirects from https to plain http'
            cand --no-sign-request 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)'
            cand -k 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
            cand --insecure 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
            cand --no-cache 'Neither use nor fill the metadata cache for this command'
            cand -v 'Log each request and response on stderr'
            cand --verbose 'Log each request and response on stderr'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand --progress 'Draw the progress bar even when stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rangecat;completions'= {
            cand -H 'Add a request header, ''Name: value'' (repeatable)'
            cand --header 'Add a request header, ''Name: value'' (repeatable)'
            cand -u 'Basic authentication, USER:PASSWORD (USER alone: an empty password)'
            cand --user 'Basic authentication, USER:PASSWORD (USER alone: an empty password)'
            cand --connect-timeout 'Seconds to wait for a connection'
            cand --timeout 'Seconds a read or write may stall before the transfer fails'
            cand --retries 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer'
            cand --chunk-size 'Read and write in pieces of BYTES'
            cand --cacert 'Also trust the CA certificates in FILE (PEM) for https'
            cand --location-trusted 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to'
            cand --allow-insecure-redirect 'Follow redirects from https to plain http'
            cand --no-sign-request 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)'
            cand -k 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
            cand --insecure 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
            cand --no-cache 'Neither use nor fill the metadata cache for this command'
            cand -v 'Log each request and response on stderr'
            cand --verbose 'Log each request and response on stderr'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand --progress 'Draw the progress bar even when stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rangecat;help'= {
            cand info 'Probe URL: length, whether ranges work, type and validators'
            cand ls 'List a zip archive''s entries, reading only its central directory'
            cand cat 'Write zip members'' decompressed bytes to stdout, one request each'
            cand x 'Extract zip members into a directory'
            cand serve 'Serve a range-aware streaming HTTP proxy to one upstream'
            cand completions 'Print a shell completion script to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rangecat;help;info'= {
        }
        &'rangecat;help;ls'= {
        }
        &'rangecat;help;cat'= {
        }
        &'rangecat;help;x'= {
        }
        &'rangecat;help;serve'= {
        }
        &'rangecat;help;completions'= {
        }
        &'rangecat;help;help'= {
        }
    ]
    $completions[$command]
}
