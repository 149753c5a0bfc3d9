// Prints one line of a Pravega password file (user:hash:ACL) granting USER every permission, with PASSWORD
// hashed the way the server's password auth handler checks it. scripts/pravega-standalone uses it for
// auth-enabled test servers (PRAVEGA_AUTH=user:password).
public class PasswdHash {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: PasswdHash USER PASSWORD");
            System.exit(2);
        }
        String hash = io.pravega.shared.security.crypto.StrongPasswordProcessor.builder().build()
                .encryptPassword(args[1]);
        System.out.println(args[0] + ":" + hash + ":prn::*,READ_UPDATE;");
    }
}
