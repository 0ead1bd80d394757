<?php
// WordPress's own installer, run by scripts/services.sh with php-cli as the site's user: installs the site
// once (admin password from KABAR_WP_ADMIN_PASSWORD), keeps the permalink structure, and with
// KABAR_WP_NEW_APP_PASSWORD=1 replaces the admin's "kabar" Application Password and prints it on stdout.
// Usage: php install.php SITE_DIR
if (PHP_SAPI !== 'cli' || $argc !== 2) {
    fwrite(STDERR, "usage: php install.php SITE_DIR\n");
    exit(2);
}
define('WP_INSTALLING', true);
$_SERVER['HTTP_HOST'] = parse_url(getenv('KABAR_WP_URL') ?: 'http://127.0.0.1', PHP_URL_HOST);
require rtrim($argv[1], '/') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

const KABAR_ADMIN = 'admin';
const KABAR_APP = 'kabar';
const KABAR_PERMALINKS = '/%year%/%monthnum%/%day%/%postname%/';

// No mail on this machine (the install's notice to the admin would only fail).
add_filter('pre_wp_mail', '__return_false');

if (!is_blog_installed()) {
    $password = getenv('KABAR_WP_ADMIN_PASSWORD');
    if (!$password) {
        fwrite(STDERR, "KABAR_WP_ADMIN_PASSWORD is not set\n");
        exit(1);
    }
    wp_install('Kabar WordPress', KABAR_ADMIN, 'admin@example.invalid', false, '', $password);
    fwrite(STDERR, "[wordpress] installed\n");
}
update_option('blogdescription', 'Situs berita uji untuk jembatan WordPress Kabar');
update_option('timezone_string', 'Asia/Jakarta');
global $wp_rewrite;
if (get_option('permalink_structure') !== KABAR_PERMALINKS) {
    $wp_rewrite->set_permalink_structure(KABAR_PERMALINKS);
}
// No .htaccess here (hard = false): the router sends every path to index.php.
$wp_rewrite->flush_rules(false);

if (getenv('KABAR_WP_NEW_APP_PASSWORD') === '1') {
    $user = get_user_by('login', KABAR_ADMIN);
    if (!$user) {
        fwrite(STDERR, "no user " . KABAR_ADMIN . "\n");
        exit(1);
    }
    foreach (WP_Application_Passwords::get_user_application_passwords($user->ID) as $item) {
        if ($item['name'] === KABAR_APP) {
            WP_Application_Passwords::delete_application_password($user->ID, $item['uuid']);
        }
    }
    $created = WP_Application_Passwords::create_new_application_password($user->ID, ['name' => KABAR_APP]);
    if (is_wp_error($created)) {
        fwrite(STDERR, $created->get_error_message() . "\n");
        exit(1);
    }
    fwrite(STDOUT, $created[0]);
}
