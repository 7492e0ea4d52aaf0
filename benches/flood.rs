//! Load generator: pre-encodes QoS 0 PUBLISH packets over N topics and blasts them at a
//! loopback broker, then waits for a PINGRESP so that "all routed" is known.
//!
//! cargo run --release --example flood -- --port 1883 --count 1000000 --topics 10000

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::cast_precision_loss
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

struct Args {
    port: u16,
    count: usize,
    topics: usize,
    size: usize,
    json: bool,
    prefix: String,
    rate: Option<u64>,
    /// Stream a never-ending run of unique topics for this many seconds instead.
    unique_seconds: Option<u64>,
}

fn parse() -> Args {
    let mut a = Args {
        port: 1883,
        count: 1_000_000,
        topics: 10_000,
        size: 16,
        json: false,
        prefix: "bench".into(),
        rate: None,
        unique_seconds: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--port" => {
                a.port = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--port: a number"));
            }
            "--count" => {
                a.count = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--count: a number"));
            }
            "--topics" => {
                a.topics = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--topics: a number"));
            }
            "--size" => {
                a.size = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--size: a number"));
            }
            "--prefix" => a.prefix = value(),
            "--rate" => a.rate = Some(value().parse().unwrap_or_else(|_| usage("--rate: msg/s"))),
            "--json" => a.json = true,
            "--unique-for" => {
                a.unique_seconds = Some(
                    value()
                        .parse()
                        .unwrap_or_else(|_| usage("--unique-for: seconds")),
                );
            }
            other => usage(&format!("unknown flag {other}")),
        }
    }
    if a.topics == 0 {
        usage("--topics must be at least 1");
    }
    a
}

fn usage(why: &str) -> ! {
    eprintln!(
        "flood: {why}\nusage: flood [--port P] [--count N] [--topics T] [--size BYTES | --json] [--prefix P] [--rate MSG_PER_S] [--unique-for SECS]"
    );
    std::process::exit(2);
}

fn varint(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut b = u8::try_from(n & 0x7F).unwrap();
        n >>= 7;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            return;
        }
    }
}

fn publish(topic: &str, payload: &[u8], out: &mut Vec<u8>) {
    out.push(0x30);
    varint(2 + topic.len() + payload.len(), out);
    out.extend_from_slice(&u16::try_from(topic.len()).unwrap().to_be_bytes());
    out.extend_from_slice(topic.as_bytes());
    out.extend_from_slice(payload);
}

/// Unique topics for `seconds`, generated as they are sent (nothing pre-encoded).
fn unique(args: &Args, seconds: u64, stream: &mut TcpStream) -> usize {
    let started = Instant::now();
    let mut sent = 0usize;
    let mut batch = Vec::with_capacity(1 << 20);
    while started.elapsed() < Duration::from_secs(seconds) {
        batch.clear();
        for _ in 0..10_000 {
            let topic = format!("{}/u{sent}/value", args.prefix);
            publish(&topic, b"1", &mut batch);
            sent += 1;
        }
        stream.write_all(&batch).unwrap();
    }
    sent
}

fn main() {
    let args = parse();
    let mut packets = Vec::with_capacity(args.count * (args.prefix.len() + args.size + 24));
    let mut offsets = Vec::with_capacity(args.count + 1);
    for i in 0..args.count {
        offsets.push(packets.len());
        let topic = format!("{}/dev{}/value", args.prefix, i % args.topics);
        let payload = if args.json {
            format!(
                "{{\"seq\":{i},\"temp\":{:.2},\"ok\":true}}",
                20.0 + (i % 100) as f64 / 10.0
            )
            .into_bytes()
        } else {
            let mut p = vec![b'x'; args.size];
            let digits = i.to_string();
            let n = digits.len().min(p.len());
            p[..n].copy_from_slice(&digits.as_bytes()[..n]);
            p
        };
        publish(&topic, &payload, &mut packets);
    }
    offsets.push(packets.len());

    let mut stream = TcpStream::connect(("127.0.0.1", args.port)).unwrap_or_else(|e| {
        eprintln!("flood: cannot connect to 127.0.0.1:{}: {e}", args.port);
        std::process::exit(1);
    });
    stream.set_nodelay(true).unwrap();
    let id = format!("flood-{}", std::process::id());
    let mut connect = vec![0x10];
    varint(10 + 2 + id.len(), &mut connect);
    connect.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60]);
    connect.extend_from_slice(&u16::try_from(id.len()).unwrap().to_be_bytes());
    connect.extend_from_slice(id.as_bytes());
    stream.write_all(&connect).unwrap();
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack).unwrap();
    assert_eq!(connack, [0x20, 2, 0, 0], "broker refused the flood client");

    let started = Instant::now();
    if let Some(seconds) = args.unique_seconds {
        let sent = unique(&args, seconds, &mut stream);
        stream.write_all(&[0xC0, 0x00]).unwrap();
        let mut resp = [0u8; 2];
        stream.read_exact(&mut resp).unwrap();
        println!(
            "flood: {sent} messages on {sent} unique topics in {:.1} s ({:.0} msg/s)",
            started.elapsed().as_secs_f64(),
            sent as f64 / started.elapsed().as_secs_f64()
        );
        return;
    }
    match args.rate {
        None => {
            for chunk in packets.chunks(1 << 20) {
                stream.write_all(chunk).unwrap();
            }
        }
        Some(rate) => {
            // Send in 10 ms slices at the requested rate.
            let per_slice = usize::try_from((rate / 100).max(1)).unwrap();
            let mut next = Instant::now();
            for batch in offsets.windows(per_slice + 1).step_by(per_slice) {
                stream
                    .write_all(&packets[batch[0]..batch[per_slice]])
                    .unwrap();
                next += Duration::from_millis(10);
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            let sent = (args.count / per_slice) * per_slice;
            stream.write_all(&packets[offsets[sent]..]).unwrap();
        }
    }
    let written = started.elapsed();
    // PINGRESP comes after the broker has processed every PUBLISH before it.
    stream.write_all(&[0xC0, 0x00]).unwrap();
    let mut resp = [0u8; 2];
    stream.read_exact(&mut resp).unwrap();
    assert_eq!(resp, [0xD0, 0x00]);
    let routed = started.elapsed();
    stream.write_all(&[0xE0, 0x00]).unwrap();
    println!(
        "flood: {} messages over {} topics, {} bytes; written in {:.3} s, routed in {:.3} s ({:.0} msg/s)",
        args.count,
        args.topics.min(args.count),
        packets.len(),
        written.as_secs_f64(),
        routed.as_secs_f64(),
        args.count as f64 / routed.as_secs_f64()
    );
}
