<?php
// WordPress's own WXR exporter (Tools → Export), run by scripts/services.sh with php-cli as the site's user;
// the file goes to stdout. Usage: php export.php SITE_DIR all|post|page|attachment
if (PHP_SAPI !== 'cli' || $argc !== 3 || !in_array($argv[2], ['all', 'post', 'page', 'attachment'], true)) {
    fwrite(STDERR, "usage: php export.php SITE_DIR all|post|page|attachment\n");
    exit(2);
}
$_SERVER['HTTP_HOST'] = parse_url(getenv('KABAR_WP_URL') ?: 'http://127.0.0.1', PHP_URL_HOST);
require rtrim($argv[1], '/') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/export.php';
export_wp(['content' => $argv[2]]);
