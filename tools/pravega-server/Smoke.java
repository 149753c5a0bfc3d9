// Smoke test for the Pravega standalone started by scripts/pravega-standalone.
//
// Uses the Java client that ships with the server's own dependencies (pravega-client):
// creates a scope and a stream, writes bytes with a ByteStreamWriter, reads them back with a
// ByteStreamReader, then seals and deletes the stream and the scope.
//
// Usage: java -cp <cp.txt>:<classes> Smoke [tcp://127.0.0.1:9090]
// Exit status 0 on success, 1 on any failure.

import io.pravega.client.ByteStreamClientFactory;
import io.pravega.client.ClientConfig;
import io.pravega.client.admin.StreamManager;
import io.pravega.client.byteStream.ByteStreamReader;
import io.pravega.client.byteStream.ByteStreamWriter;
import io.pravega.client.stream.ScalingPolicy;
import io.pravega.client.stream.StreamConfiguration;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

public final class Smoke {
    public static void main(String[] args) throws Exception {
        URI controller = URI.create(args.length > 0 ? args[0] : "tcp://127.0.0.1:9090");
        String suffix = Long.toString(System.currentTimeMillis(), 36);
        String scope = "smoke-" + suffix;
        String stream = "bytes-" + suffix;
        byte[] payload = ("hello pravega " + suffix).getBytes(StandardCharsets.UTF_8);
        ClientConfig config = ClientConfig.builder().controllerURI(controller).build();

        try (StreamManager manager = StreamManager.create(config)) {
            // The controller may still be settling right after start: retry like Pravega's own
            // PravegaEmulatorResource does.
            createScopeWithRetry(manager, scope);
            System.out.println("created scope " + scope);

            StreamConfiguration streamConfig = StreamConfiguration.builder()
                    .scalingPolicy(ScalingPolicy.fixed(1))
                    .build();
            check(manager.createStream(scope, stream, streamConfig), "createStream returned false");
            System.out.println("created stream " + scope + "/" + stream);

            try (ByteStreamClientFactory factory = ByteStreamClientFactory.withScope(scope, config)) {
                try (ByteStreamWriter writer = factory.createByteStreamWriter(stream)) {
                    writer.write(payload);
                    writer.flush();
                    long tail = writer.fetchTailOffset();
                    check(tail == payload.length, "tail offset " + tail + " != " + payload.length);
                }
                System.out.println("wrote " + payload.length + " bytes");

                try (ByteStreamReader reader = factory.createByteStreamReader(stream)) {
                    byte[] got = new byte[payload.length];
                    int off = 0;
                    while (off < got.length) {
                        int n = reader.read(got, off, got.length - off);
                        check(n > 0, "read returned " + n + " after " + off + " bytes");
                        off += n;
                    }
                    check(Arrays.equals(got, payload), "read back different bytes: "
                            + new String(got, StandardCharsets.UTF_8));
                }
                System.out.println("read back " + payload.length + " bytes: OK");
            }

            check(manager.sealStream(scope, stream), "sealStream returned false");
            check(manager.deleteStream(scope, stream), "deleteStream returned false");
            check(manager.deleteScope(scope), "deleteScope returned false");
            System.out.println("sealed and deleted " + scope + "/" + stream + " and scope " + scope);
        } catch (Throwable t) {
            System.err.println("SMOKE FAILED: " + t);
            t.printStackTrace();
            System.exit(1);
        }
        System.out.println("SMOKE OK (controller " + controller + ")");
        System.exit(0); // client thread pools are not all daemon threads
    }

    private static void createScopeWithRetry(StreamManager manager, String scope) throws Exception {
        long delayMs = 1000;
        for (int attempt = 1; ; attempt++) {
            try {
                check(manager.createScope(scope), "createScope returned false");
                return;
            } catch (Exception e) {
                if (attempt >= 10) {
                    throw e;
                }
                System.err.println("createScope attempt " + attempt + " failed (" + e + "), retrying");
                Thread.sleep(delayMs);
                delayMs = Math.min(delayMs * 2, 10_000);
            }
        }
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalStateException(message);
        }
    }
}
