// Starts DynamoDB Local exactly as its own main class (ServerRunner) does, with the same
// arguments, but binds its Jetty connector to one address (default 127.0.0.1) instead of all
// interfaces: DynamoDB Local has no bind-address flag, and a dev database with no auth must not
// be reachable from the network.
//
// Compiled by tools.sh against DynamoDBLocal.jar; run with that jar on the class path:
//   java -cp <classes>:<dir>/DynamoDBLocal.jar LoopbackDynamoDBLocal -inMemory -sharedDb -port 8000
// The address can be changed with -Dgame.ddb.host=<addr>.

import com.amazonaws.services.dynamodbv2.local.main.CommandLineInput;
import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;

public final class LoopbackDynamoDBLocal {
    private LoopbackDynamoDBLocal() {}

    public static void main(String[] args) throws Exception {
        // Same argument handling as ServerRunner.main: -help prints usage and exits.
        if (!new CommandLineInput(args).init()) {
            return;
        }
        String host = System.getProperty("game.ddb.host", "127.0.0.1");
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);

        // DynamoDBProxyServer builds `new Server(port)` into a private field and offers no way
        // to pass a host; the connector is not opened until start(), so setting it here is enough.
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        Connector[] connectors = server.getConnectors();
        if (connectors == null || connectors.length == 0) {
            throw new IllegalStateException("DynamoDB Local created no Jetty connector to bind");
        }
        for (Connector connector : connectors) {
            connector.setHost(host);
        }

        // safeStart() propagates a bind failure (start() would only print it), so a taken port
        // ends the process with a non-zero status.
        try {
            proxy.safeStart();
        } catch (Exception e) {
            System.err.println("DynamoDB Local could not start on " + host + ": " + e);
            System.exit(1);
        }
    }
}
