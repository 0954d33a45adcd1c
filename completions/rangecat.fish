# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_rangecat_global_optspecs
    string join \n o/output= c/continue strict gap= max-buffer= no-coalesce j/jobs= multipart H/header= u/user= location-trusted allow-insecure-redirect no-sign-request connect-timeout= timeout= retries= chunk-size= cacert= k/insecure no-cache v/verbose q/quiet progress h/help V/version
end

function __fish_rangecat_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_rangecat_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_rangecat_using_subcommand
    set -l cmd (__fish_rangecat_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c rangecat -n "__fish_rangecat_needs_command" -s o -l output -d 'Write to FILE instead of stdout (replaced only when the transfer succeeds)' -r -F
complete -c rangecat -n "__fish_rangecat_needs_command" -l gap -d 'Merge ranges separated by fewer than BYTES into one request' -r
complete -c rangecat -n "__fish_rangecat_needs_command" -l max-buffer -d 'Keep at most BYTES of downloaded data for reuse by later ranges; past it, re-request' -r
complete -c rangecat -n "__fish_rangecat_needs_command" -s j -l jobs -d 'Keep up to N requests in flight at once (transfers over 8 MiB go in 4 MiB segments)' -r
complete -c rangecat -n "__fish_rangecat_needs_command" -s H -l header -d 'Add a request header, \'Name: value\' (repeatable)' -r
complete -c rangecat -n "__fish_rangecat_needs_command" -s u -l user -d 'Basic authentication, USER:PASSWORD (USER alone: an empty password)' -r
complete -c rangecat -n "__fish_rangecat_needs_command" -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c rangecat -n "__fish_rangecat_needs_command" -l timeout -d 'Seconds a read or write may stall before the transfer fails' -r
complete -c rangecat -n "__fish_rangecat_needs_command" -l retries -d 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer' -r
complete -c rangecat -n "__fish_rangecat_needs_command" -l chunk-size -d 'Read and write in pieces of BYTES' -r
complete -c rangecat -n "__fish_rangecat_needs_command" -l cacert -d 'Also trust the CA certificates in FILE (PEM) for https' -r -F
complete -c rangecat -n "__fish_rangecat_needs_command" -s c -l continue -d 'With -o FILE: keep what an interrupted download fetched, and fetch only the rest when run again with -c'
complete -c rangecat -n "__fish_rangecat_needs_command" -l strict -d 'Fail (exit 1) if a RANGE is not wholly inside the resource, before writing anything'
complete -c rangecat -n "__fish_rangecat_needs_command" -l no-coalesce -d 'Send one request per RANGE as given: no merging, no reuse'
complete -c rangecat -n "__fish_rangecat_needs_command" -l multipart -d 'Ask for many ranges in one request (multipart/byteranges), in batches'
complete -c rangecat -n "__fish_rangecat_needs_command" -l location-trusted -d 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to'
complete -c rangecat -n "__fish_rangecat_needs_command" -l allow-insecure-redirect -d 'Follow redirects from https to plain http'
complete -c rangecat -n "__fish_rangecat_needs_command" -l no-sign-request -d 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)'
complete -c rangecat -n "__fish_rangecat_needs_command" -s k -l insecure -d 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
complete -c rangecat -n "__fish_rangecat_needs_command" -l no-cache -d 'Neither use nor fill the metadata cache for this command'
complete -c rangecat -n "__fish_rangecat_needs_command" -s v -l verbose -d 'Log each request and response on stderr'
complete -c rangecat -n "__fish_rangecat_needs_command" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c rangecat -n "__fish_rangecat_needs_command" -l progress -d 'Draw the progress bar even when stderr is not a terminal'
complete -c rangecat -n "__fish_rangecat_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rangecat -n "__fish_rangecat_needs_command" -s V -l version -d 'Print version'
complete -c rangecat -n "__fish_rangecat_needs_command" -a "info" -d 'Probe URL: length, whether ranges work, type and validators'
complete -c rangecat -n "__fish_rangecat_needs_command" -a "ls" -d 'List a zip archive\'s entries, reading only its central directory'
complete -c rangecat -n "__fish_rangecat_needs_command" -a "cat" -d 'Write zip members\' decompressed bytes to stdout, one request each'
complete -c rangecat -n "__fish_rangecat_needs_command" -a "x" -d 'Extract zip members into a directory'
complete -c rangecat -n "__fish_rangecat_needs_command" -a "serve" -d 'Serve a range-aware streaming HTTP proxy to one upstream'
complete -c rangecat -n "__fish_rangecat_needs_command" -a "completions" -d 'Print a shell completion script to stdout'
complete -c rangecat -n "__fish_rangecat_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -s H -l header -d 'Add a request header, \'Name: value\' (repeatable)' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -s u -l user -d 'Basic authentication, USER:PASSWORD (USER alone: an empty password)' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -l timeout -d 'Seconds a read or write may stall before the transfer fails' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -l retries -d 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -l chunk-size -d 'Read and write in pieces of BYTES' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -l cacert -d 'Also trust the CA certificates in FILE (PEM) for https' -r -F
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -l json -d 'Print one JSON object instead of text'
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -l location-trusted -d 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to'
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -l allow-insecure-redirect -d 'Follow redirects from https to plain http'
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -l no-sign-request -d 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)'
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -s k -l insecure -d 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -l no-cache -d 'Neither use nor fill the metadata cache for this command'
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -s v -l verbose -d 'Log each request and response on stderr'
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -l progress -d 'Draw the progress bar even when stderr is not a terminal'
complete -c rangecat -n "__fish_rangecat_using_subcommand info" -s h -l help -d 'Print help'
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -l in -d 'Read the zip stored as MEMBER of the archive, in place (repeat for deeper levels)' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -s H -l header -d 'Add a request header, \'Name: value\' (repeatable)' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -s u -l user -d 'Basic authentication, USER:PASSWORD (USER alone: an empty password)' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -l timeout -d 'Seconds a read or write may stall before the transfer fails' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -l retries -d 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -l chunk-size -d 'Read and write in pieces of BYTES' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -l cacert -d 'Also trust the CA certificates in FILE (PEM) for https' -r -F
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -s l -l long -d 'Long listing: size, compressed size, method, modified, CRC-32, name, and a total'
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -s h -l human-readable -d 'With -l, sizes in human-readable units (KiB, MiB, ...)'
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -l json -d 'One JSON object per entry per line'
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -l help -d 'Print help'
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -l location-trusted -d 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to'
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -l allow-insecure-redirect -d 'Follow redirects from https to plain http'
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -l no-sign-request -d 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)'
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -s k -l insecure -d 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -l no-cache -d 'Neither use nor fill the metadata cache for this command'
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -s v -l verbose -d 'Log each request and response on stderr'
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c rangecat -n "__fish_rangecat_using_subcommand ls" -l progress -d 'Draw the progress bar even when stderr is not a terminal'
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -l in -d 'Read the zip stored as MEMBER of the archive, in place (repeat for deeper levels)' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -s H -l header -d 'Add a request header, \'Name: value\' (repeatable)' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -s u -l user -d 'Basic authentication, USER:PASSWORD (USER alone: an empty password)' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -l timeout -d 'Seconds a read or write may stall before the transfer fails' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -l retries -d 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -l chunk-size -d 'Read and write in pieces of BYTES' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -l cacert -d 'Also trust the CA certificates in FILE (PEM) for https' -r -F
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -l location-trusted -d 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to'
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -l allow-insecure-redirect -d 'Follow redirects from https to plain http'
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -l no-sign-request -d 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)'
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -s k -l insecure -d 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -l no-cache -d 'Neither use nor fill the metadata cache for this command'
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -s v -l verbose -d 'Log each request and response on stderr'
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -l progress -d 'Draw the progress bar even when stderr is not a terminal'
complete -c rangecat -n "__fish_rangecat_using_subcommand cat" -s h -l help -d 'Print help'
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -l in -d 'Read the zip stored as MEMBER of the archive, in place (repeat for deeper levels)' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -s C -l directory -d 'Extract under DIR' -r -F
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -s j -l jobs -d 'Requests, and members being written, at once' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -s H -l header -d 'Add a request header, \'Name: value\' (repeatable)' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -s u -l user -d 'Basic authentication, USER:PASSWORD (USER alone: an empty password)' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -l timeout -d 'Seconds a read or write may stall before the transfer fails' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -l retries -d 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -l chunk-size -d 'Read and write in pieces of BYTES' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -l cacert -d 'Also trust the CA certificates in FILE (PEM) for https' -r -F
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -l overwrite -d 'Replace files that already exist'
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -s n -l skip-existing -d 'Extract only what does not exist yet; keep the rest quietly (as `unzip -n`)'
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -l location-trusted -d 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to'
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -l allow-insecure-redirect -d 'Follow redirects from https to plain http'
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -l no-sign-request -d 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)'
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -s k -l insecure -d 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -l no-cache -d 'Neither use nor fill the metadata cache for this command'
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -s v -l verbose -d 'Log each request and response on stderr'
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -l progress -d 'Draw the progress bar even when stderr is not a terminal'
complete -c rangecat -n "__fish_rangecat_using_subcommand x" -s h -l help -d 'Print help'
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -l upstream -d 'The upstream base URL: GET and HEAD /PATH are proxied to BASE/PATH, and nowhere else' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -l listen -d 'Address to listen on' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -l max-connections -d 'Most client connections served at once; more are answered 503 [default: (the open-file limit - 64) / 2, after raising the limit to its hard limit]' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -l keepalive-timeout -d 'Seconds an idle keep-alive connection is kept open for its next request' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -s H -l header -d 'Add a request header, \'Name: value\' (repeatable)' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -s u -l user -d 'Basic authentication, USER:PASSWORD (USER alone: an empty password)' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -l timeout -d 'Seconds a read or write may stall before the transfer fails' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -l retries -d 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -l chunk-size -d 'Read and write in pieces of BYTES' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -l cacert -d 'Also trust the CA certificates in FILE (PEM) for https' -r -F
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -l location-trusted -d 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to'
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -l allow-insecure-redirect -d 'Follow redirects from https to plain http'
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -l no-sign-request -d 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)'
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -s k -l insecure -d 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -l no-cache -d 'Neither use nor fill the metadata cache for this command'
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -s v -l verbose -d 'Log each request and response on stderr'
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -l progress -d 'Draw the progress bar even when stderr is not a terminal'
complete -c rangecat -n "__fish_rangecat_using_subcommand serve" -s h -l help -d 'Print help'
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -s H -l header -d 'Add a request header, \'Name: value\' (repeatable)' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -s u -l user -d 'Basic authentication, USER:PASSWORD (USER alone: an empty password)' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -l timeout -d 'Seconds a read or write may stall before the transfer fails' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -l retries -d 'Retries per request after a failure: a broken connection, a 429/502/503/504 answer' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -l chunk-size -d 'Read and write in pieces of BYTES' -r
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -l cacert -d 'Also trust the CA certificates in FILE (PEM) for https' -r -F
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -l location-trusted -d 'Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to'
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -l allow-insecure-redirect -d 'Follow redirects from https to plain http'
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -l no-sign-request -d 'Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)'
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -s k -l insecure -d 'Do not verify https certificates (anyone on the path can read and alter the transfer)'
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -l no-cache -d 'Neither use nor fill the metadata cache for this command'
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -s v -l verbose -d 'Log each request and response on stderr'
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -l progress -d 'Draw the progress bar even when stderr is not a terminal'
complete -c rangecat -n "__fish_rangecat_using_subcommand completions" -s h -l help -d 'Print help'
complete -c rangecat -n "__fish_rangecat_using_subcommand help; and not __fish_seen_subcommand_from info ls cat x serve completions help" -f -a "info" -d 'Probe URL: length, whether ranges work, type and validators'
complete -c rangecat -n "__fish_rangecat_using_subcommand help; and not __fish_seen_subcommand_from info ls cat x serve completions help" -f -a "ls" -d 'List a zip archive\'s entries, reading only its central directory'
complete -c rangecat -n "__fish_rangecat_using_subcommand help; and not __fish_seen_subcommand_from info ls cat x serve completions help" -f -a "cat" -d 'Write zip members\' decompressed bytes to stdout, one request each'
complete -c rangecat -n "__fish_rangecat_using_subcommand help; and not __fish_seen_subcommand_from info ls cat x serve completions help" -f -a "x" -d 'Extract zip members into a directory'
complete -c rangecat -n "__fish_rangecat_using_subcommand help; and not __fish_seen_subcommand_from info ls cat x serve completions help" -f -a "serve" -d 'Serve a range-aware streaming HTTP proxy to one upstream'
complete -c rangecat -n "__fish_rangecat_using_subcommand help; and not __fish_seen_subcommand_from info ls cat x serve completions help" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c rangecat -n "__fish_rangecat_using_subcommand help; and not __fish_seen_subcommand_from info ls cat x serve completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
