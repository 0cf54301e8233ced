"""A minimal local HTTP receiver for benchmarks: answers 200 to anything and counts requests.
GET /count answers the number of POSTs received so far; GET /arrivals?min=N answers, as JSON,
when each message with a `"seq"` >= N first arrived (wall-clock seconds), for lag figures."""
import asyncio
import json
import re
import sys
import time

count = 0
arrivals = {}
SEQ = re.compile(rb'"seq":\s*(\d+)')


async def handle(reader, writer):
    global count
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            if head.startswith(b"GET /count"):
                answer = str(count).encode()
            elif head.startswith(b"GET /arrivals"):
                low = int(re.search(rb"min=(\d+)", head).group(1))
                answer = json.dumps({s: t for s, t in arrivals.items() if s >= low}).encode()
            else:
                count += 1
                found = SEQ.search(body)
                if found:
                    arrivals.setdefault(int(found.group(1)), time.time())
                answer = b"ok"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
