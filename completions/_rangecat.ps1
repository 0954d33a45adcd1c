
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'rangecat' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'rangecat'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'rangecat' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to FILE instead of stdout (replaced only when the transfer succeeds)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write to FILE instead of stdout (replaced only when the transfer succeeds)')
            [CompletionResult]::new('--gap', '--gap', [CompletionResultType]::ParameterName, 'Merge ranges separated by fewer than BYTES into one request')
            [CompletionResult]::new('--max-buffer', '--max-buffer', [CompletionResultType]::ParameterName, 'Keep at most BYTES of downloaded data for reuse by later ranges; past it, re-request')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Keep up to N requests in flight at once (transfers over 8 MiB go in 4 MiB segments)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Keep up to N requests in flight at once (transfers over 8 MiB go in 4 MiB segments)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Basic authentication, USER:PASSWORD (USER alone: an empty password)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Basic authentication, USER:PASSWORD (USER alone: an empty password)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds a read or write may stall before the transfer fails')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer')
            [CompletionResult]::new('--chunk-size', '--chunk-size', [CompletionResultType]::ParameterName, 'Read and write in pieces of BYTES')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in FILE (PEM) for https')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'With -o FILE: keep what an interrupted download fetched, and fetch only the rest when run again with -c')
            [CompletionResult]::new('--continue', '--continue', [CompletionResultType]::ParameterName, 'With -o FILE: keep what an interrupted download fetched, and fetch only the rest when run again with -c')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Fail (exit 1) if a RANGE is not wholly inside the resource, before writing anything')
            [CompletionResult]::new('--no-coalesce', '--no-coalesce', [CompletionResultType]::ParameterName, 'Send one request per RANGE as given: no merging, no reuse')
            [CompletionResult]::new('--multipart', '--multipart', [CompletionResultType]::ParameterName, 'Ask for many ranges in one request (multipart/byteranges), in batches')
            [CompletionResult]::new('--location-trusted', '--location-trusted', [CompletionResultType]::ParameterName, 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to')
            [CompletionResult]::new('--allow-insecure-redirect', '--allow-insecure-redirect', [CompletionResultType]::ParameterName, 'Follow redirects from https to plain http')
            [CompletionResult]::new('--no-sign-request', '--no-sign-request', [CompletionResultType]::ParameterName, 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify https certificates (anyone on the path can read and alter the transfer)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify https certificates (anyone on the path can read and alter the transfer)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Neither use nor fill the metadata cache for this command')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and response on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and response on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Draw the progress bar even when stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Probe URL: length, whether ranges work, type and validators')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List a zip archive''s entries, reading only its central directory')
            [CompletionResult]::new('cat', 'cat', [CompletionResultType]::ParameterValue, 'Write zip members'' decompressed bytes to stdout, one request each')
            [CompletionResult]::new('x', 'x', [CompletionResultType]::ParameterValue, 'Extract zip members into a directory')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve a range-aware streaming HTTP proxy to one upstream')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rangecat;info' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Basic authentication, USER:PASSWORD (USER alone: an empty password)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Basic authentication, USER:PASSWORD (USER alone: an empty password)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds a read or write may stall before the transfer fails')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer')
            [CompletionResult]::new('--chunk-size', '--chunk-size', [CompletionResultType]::ParameterName, 'Read and write in pieces of BYTES')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in FILE (PEM) for https')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object instead of text')
            [CompletionResult]::new('--location-trusted', '--location-trusted', [CompletionResultType]::ParameterName, 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to')
            [CompletionResult]::new('--allow-insecure-redirect', '--allow-insecure-redirect', [CompletionResultType]::ParameterName, 'Follow redirects from https to plain http')
            [CompletionResult]::new('--no-sign-request', '--no-sign-request', [CompletionResultType]::ParameterName, 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify https certificates (anyone on the path can read and alter the transfer)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify https certificates (anyone on the path can read and alter the transfer)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Neither use nor fill the metadata cache for this command')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and response on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and response on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Draw the progress bar even when stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rangecat;ls' {
            [CompletionResult]::new('--in', '--in', [CompletionResultType]::ParameterName, 'Read the zip stored as MEMBER of the archive, in place (repeat for deeper levels)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Basic authentication, USER:PASSWORD (USER alone: an empty password)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Basic authentication, USER:PASSWORD (USER alone: an empty password)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds a read or write may stall before the transfer fails')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer')
            [CompletionResult]::new('--chunk-size', '--chunk-size', [CompletionResultType]::ParameterName, 'Read and write in pieces of BYTES')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in FILE (PEM) for https')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Long listing: size, compressed size, method, modified, CRC-32, name, and a total')
            [CompletionResult]::new('--long', '--long', [CompletionResultType]::ParameterName, 'Long listing: size, compressed size, method, modified, CRC-32, name, and a total')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'With -l, sizes in human-readable units (KiB, MiB, ...)')
            [CompletionResult]::new('--human-readable', '--human-readable', [CompletionResultType]::ParameterName, 'With -l, sizes in human-readable units (KiB, MiB, ...)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per entry per line')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--location-trusted', '--location-trusted', [CompletionResultType]::ParameterName, 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to')
            [CompletionResult]::new('--allow-insecure-redirect', '--allow-insecure-redirect', [CompletionResultType]::ParameterName, 'Follow redirects from https to plain http')
            [CompletionResult]::new('--no-sign-request', '--no-sign-request', [CompletionResultType]::ParameterName, 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify https certificates (anyone on the path can read and alter the transfer)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify https certificates (anyone on the path can read and alter the transfer)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Neither use nor fill the metadata cache for this command')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and response on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and response on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Draw the progress bar even when stderr is not a terminal')
            break
        }
        'rangecat;cat' {
            [CompletionResult]::new('--in', '--in', [CompletionResultType]::ParameterName, 'Read the zip stored as MEMBER of the archive, in place (repeat for deeper levels)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Basic authentication, USER:PASSWORD (USER alone: an empty password)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Basic authentication, USER:PASSWORD (USER alone: an empty password)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds a read or write may stall before the transfer fails')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer')
            [CompletionResult]::new('--chunk-size', '--chunk-size', [CompletionResultType]::ParameterName, 'Read and write in pieces of BYTES')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in FILE (PEM) for https')
            [CompletionResult]::new('--location-trusted', '--location-trusted', [CompletionResultType]::ParameterName, 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to')
            [CompletionResult]::new('--allow-insecure-redirect', '--allow-insecure-redirect', [CompletionResultType]::ParameterName, 'Follow redirects from https to plain http')
            [CompletionResult]::new('--no-sign-request', '--no-sign-request', [CompletionResultType]::ParameterName, 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify https certificates (anyone on the path can read and alter the transfer)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify https certificates (anyone on the path can read and alter the transfer)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Neither use nor fill the metadata cache for this command')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and response on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and response on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Draw the progress bar even when stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rangecat;x' {
            [CompletionResult]::new('--in', '--in', [CompletionResultType]::ParameterName, 'Read the zip stored as MEMBER of the archive, in place (repeat for deeper levels)')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Extract under DIR')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Extract under DIR')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Requests, and members being written, at once')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Requests, and members being written, at once')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Basic authentication, USER:PASSWORD (USER alone: an empty password)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Basic authentication, USER:PASSWORD (USER alone: an empty password)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds a read or write may stall before the transfer fails')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer')
            [CompletionResult]::new('--chunk-size', '--chunk-size', [CompletionResultType]::ParameterName, 'Read and write in pieces of BYTES')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in FILE (PEM) for https')
            [CompletionResult]::new('--overwrite', '--overwrite', [CompletionResultType]::ParameterName, 'Replace files that already exist')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Extract only what does not exist yet; keep the rest quietly (as `unzip -n`)')
            [CompletionResult]::new('--skip-existing', '--skip-existing', [CompletionResultType]::ParameterName, 'Extract only what does not exist yet; keep the rest quietly (as `unzip -n`)')
            [CompletionResult]::new('--location-trusted', '--location-trusted', [CompletionResultType]::ParameterName, 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to')
            [CompletionResult]::new('--allow-insecure-redirect', '--allow-insecure-redirect', [CompletionResultType]::ParameterName, 'Follow redirects from https to plain http')
            [CompletionResult]::new('--no-sign-request', '--no-sign-request', [CompletionResultType]::ParameterName, 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify https certificates (anyone on the path can read and alter the transfer)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify https certificates (anyone on the path can read and alter the transfer)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Neither use nor fill the metadata cache for this command')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and response on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and response on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Draw the progress bar even when stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rangecat;serve' {
            [CompletionResult]::new('--upstream', '--upstream', [CompletionResultType]::ParameterName, 'The upstream base URL: GET and HEAD /PATH are proxied to BASE/PATH, and nowhere else')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Most client connections served at once; more are answered 503 [default: (the open-file limit - 64) / 2, after raising the limit to its hard limit]')
            [CompletionResult]::new('--keepalive-timeout', '--keepalive-timeout', [CompletionResultType]::ParameterName, 'Seconds an idle keep-alive connection is kept open for its next request')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Basic authentication, USER:PASSWORD (USER alone: an empty password)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Basic authentication, USER:PASSWORD (USER alone: an empty password)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds a read or write may stall before the transfer fails')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer')
            [CompletionResult]::new('--chunk-size', '--chunk-size', [CompletionResultType]::ParameterName, 'Read and write in pieces of BYTES')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in FILE (PEM) for https')
            [CompletionResult]::new('--location-trusted', '--location-trusted', [CompletionResultType]::ParameterName, 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to')
            [CompletionResult]::new('--allow-insecure-redirect', '--allow-insecure-redirect', [CompletionResultType]::ParameterName, 'Follow redirects from https to plain http')
            [CompletionResult]::new('--no-sign-request', '--no-sign-request', [CompletionResultType]::ParameterName, 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify https certificates (anyone on the path can read and alter the transfer)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify https certificates (anyone on the path can read and alter the transfer)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Neither use nor fill the metadata cache for this command')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and response on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and response on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Draw the progress bar even when stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rangecat;completions' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Basic authentication, USER:PASSWORD (USER alone: an empty password)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Basic authentication, USER:PASSWORD (USER alone: an empty password)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds a read or write may stall before the transfer fails')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer')
            [CompletionResult]::new('--chunk-size', '--chunk-size', [CompletionResultType]::ParameterName, 'Read and write in pieces of BYTES')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in FILE (PEM) for https')
            [CompletionResult]::new('--location-trusted', '--location-trusted', [CompletionResultType]::ParameterName, 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to')
            [CompletionResult]::new('--allow-insecure-redirect', '--allow-insecure-redirect', [CompletionResultType]::ParameterName, 'Follow redirects from https to plain http')
            [CompletionResult]::new('--no-sign-request', '--no-sign-request', [CompletionResultType]::ParameterName, 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify https certificates (anyone on the path can read and alter the transfer)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify https certificates (anyone on the path can read and alter the transfer)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Neither use nor fill the metadata cache for this command')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and response on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and response on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Draw the progress bar even when stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rangecat;help' {
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Probe URL: length, whether ranges work, type and validators')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List a zip archive''s entries, reading only its central directory')
            [CompletionResult]::new('cat', 'cat', [CompletionResultType]::ParameterValue, 'Write zip members'' decompressed bytes to stdout, one request each')
            [CompletionResult]::new('x', 'x', [CompletionResultType]::ParameterValue, 'Extract zip members into a directory')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve a range-aware streaming HTTP proxy to one upstream')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rangecat;help;info' {
            break
        }
        'rangecat;help;ls' {
            break
        }
        'rangecat;help;cat' {
            break
        }
        'rangecat;help;x' {
            break
        }
        'rangecat;help;serve' {
            break
        }
        'rangecat;help;completions' {
            break
        }
        'rangecat;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
