<?php
// Router for PHP's built-in server (scripts/services.sh): what Apache's rewrite rules do for WordPress.
// An existing file (or a folder with an index.php) is served as it is; every other path goes to
// index.php, so pretty permalinks and /wp-json/ resolve.
$root = $_SERVER['DOCUMENT_ROOT'];
$path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');
if (!str_contains($path, '..') && $path !== '/') {
    $target = $root . $path;
    if (is_file($target) || (is_dir($target) && is_file(rtrim($target, '/') . '/index.php'))) {
        return false;
    }
}
$_SERVER['SCRIPT_NAME'] = '/index.php';
$_SERVER['PHP_SELF'] = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $root . '/index.php';
chdir($root);
require $root . '/index.php';
