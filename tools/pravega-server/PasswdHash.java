// Prints one line of a Pravega password file (user:hash:ACL) granting USER every permission, with the password
// from the environment variable PRAVEGA_PASSWORD hashed the way the server's password auth handler checks it.
// scripts/pravega-standalone uses it for auth-enabled test servers (PRAVEGA_AUTH=user:password). The password
// comes from the environment, not the command line, so that `ps` never shows it.
public class PasswdHash {
    public static void main(String[] args) throws Exception {
        String password = System.getenv("PRAVEGA_PASSWORD");
        if (args.length != 1 || password == null) {
            System.err.println("usage: PRAVEGA_PASSWORD=... PasswdHash USER");
            System.exit(2);
        }
        String hash = io.pravega.shared.security.crypto.StrongPasswordProcessor.builder().build()
                .encryptPassword(password);
        System.out.println(args[0] + ":" + hash + ":prn::*,READ_UPDATE;");
    }
}
