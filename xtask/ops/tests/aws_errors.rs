//! What a person reads when AWS says no: the `zipster-ops` binary against a local
//! endpoint that answers every request as AWS does when access is denied, and
//! against one that is not there. One line each: the operation, the resource, the
//! status, the code and message, the request id, and what to do; never the SDK's
//! `Debug` dump.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

const REQUEST_ID: &str = "8d2c7e4a-5b1f-4c3e-9a0d-000000000403";

/// Answers every request with CloudFormation's (query protocol) `AccessDenied`.
fn access_denied_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // The whole request first, as AWS does, so the client sees the answer, not a broken pipe.
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer = format!(
                "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error><Type>Sender</Type>\
                 <Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/dev is not authorized to \
                 perform: cloudformation:DescribeStacks on resource: arn:aws:cloudformation:eu-west-1:123456789012:\
                 stack/zipster-dev/* because no identity-based policy allows the cloudformation:DescribeStacks \
                 action</Message></Error><RequestId>{REQUEST_ID}</RequestId></ErrorResponse>"
            );
            let _ = write!(
                stream,
                "HTTP/1.1 403 Forbidden\r\nx-amzn-RequestId: {REQUEST_ID}\r\nContent-Type: text/xml\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn ops(endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zipster-ops"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn stderr_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr).lines().map(str::to_owned).collect()
}

#[test]
fn access_denied_is_one_line_naming_the_operation_the_resource_and_the_missing_permission() {
    let endpoint = access_denied_endpoint();
    let output = ops(&endpoint, &["destroy", "--stage", "dev", "--yes"]);
    assert_eq!(output.status.code(), Some(1));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "one line: {lines:#?}");
    let line = &lines[0];
    for part in [
        "error: cloudformation:DescribeStacks zipster-dev: HTTP 403 AccessDenied: User: arn:aws:iam::123456789012:user/dev is not authorized",
        &format!("(request id {REQUEST_ID})"),
        "the credentials in use lack cloudformation:DescribeStacks on zipster-dev",
    ] {
        assert!(line.contains(part), "{part:?} in {line}");
    }
    for dump in ["ServiceError", "Response {", "SdkBody", "extensions", "Unhandled"] {
        assert!(!line.contains(dump), "no Debug formatting ({dump}): {line}");
    }
    assert!(line.len() < 600, "{} characters: {line}", line.len());
}

#[test]
fn an_endpoint_that_is_not_there_is_named() {
    // Bound and closed again: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let output = ops(&endpoint, &["diff", "--stage", "dev"]);
    assert_eq!(output.status.code(), Some(1));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "one line: {lines:#?}");
    assert!(lines[0].contains(&format!("could not reach {endpoint}")), "{}", lines[0]);
    assert!(!lines[0].contains("DispatchFailure"), "{}", lines[0]);
}
