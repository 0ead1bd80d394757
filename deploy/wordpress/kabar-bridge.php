<?php
/**
 * Plugin Name: Kabar Bridge
 * Description: Sends posts to Kabar's ingest API when they are published, updated, unpublished, trashed or deleted.
 * Version: 1.0.0
 * Requires at least: 5.7
 * Requires PHP: 7.4
 * License: GPL-2.0-or-later
 * License URI: https://www.gnu.org/licenses/gpl-2.0.html
 *
 * Configure in wp-config.php:
 *   define( 'KABAR_INGEST_URL', 'https://ingest.kabar.example' );
 *   define( 'KABAR_API_KEY', 'kbr_...' );            // the newsroom's key
 *   define( 'KABAR_RETRY_SECONDS', 30 );             // optional: the first retry's delay (doubles each time)
 *
 * Each post goes to Kabar with the same external id ("wp:<ID>") and version as `kabar wordpress pull` gives
 * it (services/wordpress/mapping.py: GMT modification time in seconds x 4, +2 for the site's own rendering,
 * +1 once published rather than scheduled), so the ways in never disagree. When Kabar answers 503 (or cannot be reached) the send is retried from WP-Cron after the time
 * Kabar asked for, with backoff; the last answer is shown in the post editor.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

const KABAR_META_RESULT = '_kabar_last_result';
const KABAR_RETRY_HOOK  = 'kabar_bridge_retry';
const KABAR_MAX_TRIES   = 8;

function kabar_configured() {
	return defined( 'KABAR_INGEST_URL' ) && defined( 'KABAR_API_KEY' ) && KABAR_INGEST_URL && KABAR_API_KEY;
}

function kabar_external_id( $post_id ) {
	return 'wp:' . intval( $post_id );
}

function kabar_gmt_iso( $gmt ) {
	if ( ! $gmt || 0 === strpos( $gmt, '0000' ) ) {
		return null;
	}
	return str_replace( ' ', 'T', $gmt ) . '+00:00';
}

function kabar_plain( $html ) {
	$text = html_entity_decode( wp_strip_all_tags( (string) $html ), ENT_QUOTES | ENT_HTML5, 'UTF-8' );
	return trim( preg_replace( '/\s+/u', ' ', $text ) );
}

/** The article Kabar's API takes, as services/wordpress/mapping.py builds it from the REST API. */
function kabar_article( $post ) {
	$published = kabar_gmt_iso( $post->post_date_gmt );
	$modified  = kabar_gmt_iso( $post->post_modified_gmt );
	$when      = $modified ? $post->post_modified_gmt : ( $published ? $post->post_date_gmt : null );
	$version   = $when ? strtotime( $when . ' UTC' ) * 4 + 2 + ( 'publish' === $post->post_status ? 1 : 0 ) : null;
	$categories = get_the_category( $post->ID );
	$tags       = get_the_tags( $post->ID );
	$author     = get_the_author_meta( 'display_name', $post->post_author );
	$title      = kabar_plain( $post->post_title ); // as typed, like the pull's raw title (no texturize)
	$article    = array(
		'external_id'   => kabar_external_id( $post->ID ),
		'title'         => '' !== $title ? mb_substr( $title, 0, 300 ) : '(' . $post->ID . ')',
		'body'          => trim( apply_filters( 'the_content', $post->post_content ) ),
		'section'       => $categories ? html_entity_decode( $categories[0]->name, ENT_QUOTES | ENT_HTML5, 'UTF-8' ) : null,
		'tags'          => $tags ? array_values( array_unique( array_filter( array_map( function ( $t ) {
			return kabar_plain( $t->name );
		}, $tags ) ) ) ) : array(),
		'authors'       => $author ? array( $author ) : array(),
		'published_at'  => $published,
		'updated_at'    => ( $modified && $modified !== $published ) ? $modified : null,
		'canonical_url' => get_permalink( $post ),
		'version'       => $version,
	);
	$dek = kabar_plain( $post->post_excerpt );
	if ( '' !== $dek ) {
		$article['dek'] = mb_substr( $dek, 0, 1000 );
	}
	$thumbnail = get_post_thumbnail_id( $post );
	if ( $thumbnail ) {
		$caption = wp_get_attachment_caption( $thumbnail );
		$image   = array(
			'url'     => wp_get_attachment_url( $thumbnail ),
			'caption' => $caption ? kabar_plain( $caption ) : null,
		);
		$renditions = kabar_renditions( $image['url'], wp_get_attachment_metadata( $thumbnail ) );
		if ( $renditions ) {
			$image['renditions'] = $renditions;
		}
		$article['images'] = array( $image );
	}
	if ( 'future' === $post->post_status && $published ) {
		$article['embargo_until'] = $published;
	}
	return array_filter( $article, function ( $value ) {
		return null !== $value && array() !== $value && '' !== $value;
	} );
}

/**
 * The sizes WordPress made of an image, for the reader's srcset, as services/wordpress/wxr.py lists them: the
 * original and each size (its file beside the original), one per width, smallest first, at most 12.
 */
function kabar_renditions( $url, $meta ) {
	if ( ! is_array( $meta ) || empty( $meta['width'] ) ) {
		return array();
	}
	$sizes  = array( array( 'url' => $url, 'width' => (int) $meta['width'], 'height' => (int) ( $meta['height'] ?? 0 ) ) );
	$folder = substr( $url, 0, strrpos( $url, '/' ) );
	foreach ( (array) ( $meta['sizes'] ?? array() ) as $size ) {
		if ( is_array( $size ) && ! empty( $size['file'] ) && false === strpos( $size['file'], '/' ) ) {
			$sizes[] = array( 'url' => $folder . '/' . $size['file'], 'width' => (int) $size['width'], 'height' => (int) ( $size['height'] ?? 0 ) );
		}
	}
	$by_width = array();
	foreach ( $sizes as $size ) {
		$width = $size['width'];
		if ( $width <= 0 || $width > 20000 ) {
			continue;
		}
		$kept = array( 'url' => $size['url'], 'width' => $width );
		if ( $size['height'] > 0 && $size['height'] <= 20000 ) {
			$kept['height'] = $size['height'];
		}
		if ( ! isset( $by_width[ $width ] ) || strcmp( $kept['url'], $by_width[ $width ]['url'] ) < 0 ) {
			$by_width[ $width ] = $kept;
		}
	}
	ksort( $by_width );
	return array_slice( array_values( $by_width ), 0, 12 );
}

/** One request to Kabar; returns [status code or 0, retry-after seconds, short message]. */
function kabar_request( $method, $path, $body = null ) {
	$args     = array(
		'method'  => $method,
		'timeout' => 10,
		'headers' => array(
			'Authorization' => 'Bearer ' . KABAR_API_KEY,
			'Content-Type'  => 'application/json',
			'User-Agent'    => 'Kabar-Bridge-Plugin/1.0; ' . home_url( '/' ),
		),
	);
	if ( null !== $body ) {
		$args['body'] = wp_json_encode( $body );
	}
	$response = wp_remote_request( rtrim( KABAR_INGEST_URL, '/' ) . $path, $args );
	if ( is_wp_error( $response ) ) {
		return array( 0, 0, $response->get_error_message() );
	}
	$code  = (int) wp_remote_retrieve_response_code( $response );
	$after = (int) wp_remote_retrieve_header( $response, 'retry-after' );
	$data  = json_decode( wp_remote_retrieve_body( $response ), true );
	$text  = is_array( $data ) ? ( isset( $data['status'] ) && is_string( $data['status'] ) ? $data['status'] : ( isset( $data['title'] ) ? $data['title'] : '' ) ) : '';
	return array( $code, $after, $text );
}

/** What Kabar should hold for this post now: an article, a takedown, or a deletion. */
function kabar_send( $post_id, $action, $tries = 0 ) {
	if ( ! kabar_configured() ) {
		return;
	}
	$id   = rawurlencode( kabar_external_id( $post_id ) );
	$post = get_post( $post_id );
	if ( 'delete' === $action ) {
		list( $code, $after, $text ) = kabar_request( 'DELETE', '/v1/articles/' . $id );
	} elseif ( 'unpublish' === $action ) {
		list( $code, $after, $text ) = kabar_request( 'POST', '/v1/articles/' . $id . '/unpublish' );
	} else {
		if ( ! $post ) {
			return;
		}
		list( $code, $after, $text ) = kabar_request( 'PUT', '/v1/articles/' . $id, kabar_article( $post ) );
	}
	$retry = ( 0 === $code || 429 === $code || $code >= 500 ) && $tries + 1 < KABAR_MAX_TRIES;
	if ( $retry ) {
		$base  = defined( 'KABAR_RETRY_SECONDS' ) ? max( 1, intval( KABAR_RETRY_SECONDS ) ) : 30;
		$delay = max( $after, min( 3600, $base * ( 2 ** $tries ) ) );
		wp_schedule_single_event( time() + $delay, KABAR_RETRY_HOOK, array( $post_id, $action, $tries + 1 ) );
	}
	// A takedown of something Kabar never had (404) or already deleted (410) leaves nothing to do.
	$done = ( $code >= 200 && $code < 300 ) || ( 'upsert' !== $action && in_array( $code, array( 404, 410 ), true ) );
	if ( $post ) {
		update_post_meta(
			$post_id,
			KABAR_META_RESULT,
			array(
				'action' => $action,
				'code'   => $code,
				'text'   => $text,
				'at'     => gmdate( 'c' ),
				'state'  => $done ? 'ok' : ( $retry ? 'retrying' : 'failed' ),
			)
		);
	}
}
add_action( KABAR_RETRY_HOOK, 'kabar_send', 10, 3 );

function kabar_is_post( $post ) {
	return $post && 'post' === $post->post_type && ! wp_is_post_revision( $post ) && ! wp_is_post_autosave( $post );
}

/**
 * Unpublish and trash are status transitions away from published or scheduled: a takedown needs no content.
 * A publish or an update is sent from wp_after_insert_post instead, which runs once terms and the featured
 * image are saved too (transition_post_status runs before them, and Kabar would get the post without its
 * categories under the same version).
 */
function kabar_on_transition( $new_status, $old_status, $post ) {
	if ( kabar_is_post( $post ) && ! in_array( $new_status, array( 'publish', 'future' ), true )
		&& in_array( $old_status, array( 'publish', 'future' ), true ) ) {
		kabar_send( $post->ID, 'unpublish' ); // draft, pending, private or trash
	}
}
add_action( 'transition_post_status', 'kabar_on_transition', 10, 3 );

function kabar_on_saved( $post_id, $post ) {
	if ( kabar_is_post( $post ) && in_array( $post->post_status, array( 'publish', 'future' ), true ) ) {
		kabar_send( $post_id, 'upsert' );
	}
}
add_action( 'wp_after_insert_post', 'kabar_on_saved', 10, 2 );

function kabar_on_delete( $post_id, $post ) {
	if ( kabar_is_post( $post ) ) {
		kabar_send( $post_id, 'delete' );
	}
}
add_action( 'before_delete_post', 'kabar_on_delete', 10, 2 );

/** The last answer from Kabar, in the editor's sidebar (classic and block editor both show meta boxes). */
function kabar_meta_box( $post ) {
	$result = get_post_meta( $post->ID, KABAR_META_RESULT, true );
	if ( ! kabar_configured() ) {
		echo '<p>' . esc_html__( 'Kabar is not configured (KABAR_INGEST_URL, KABAR_API_KEY).', 'kabar-bridge' ) . '</p>';
		return;
	}
	if ( ! is_array( $result ) ) {
		echo '<p>' . esc_html__( 'Not sent to Kabar yet.', 'kabar-bridge' ) . '</p>';
		return;
	}
	printf(
		'<p class="kabar-result kabar-%1$s"><strong>%2$s</strong> %3$s: HTTP %4$d %5$s<br><small>%6$s</small></p>',
		esc_attr( $result['state'] ),
		esc_html( strtoupper( $result['state'] ) ),
		esc_html( $result['action'] ),
		intval( $result['code'] ),
		esc_html( $result['text'] ),
		esc_html( $result['at'] )
	);
}

function kabar_add_meta_box() {
	add_meta_box( 'kabar-bridge', 'Kabar', 'kabar_meta_box', 'post', 'side' );
}
add_action( 'add_meta_boxes', 'kabar_add_meta_box' );

/** The same result in the REST API, so the block editor and scripts can read it. */
function kabar_register_meta() {
	register_post_meta(
		'post',
		KABAR_META_RESULT,
		array(
			'type'          => 'object',
			'single'        => true,
			'show_in_rest'  => array(
				'schema' => array(
					'type'       => 'object',
					'properties' => array(
						'action' => array( 'type' => 'string' ),
						'code'   => array( 'type' => 'integer' ),
						'text'   => array( 'type' => 'string' ),
						'at'     => array( 'type' => 'string' ),
						'state'  => array( 'type' => 'string' ),
					),
				),
			),
			'auth_callback' => function () {
				return current_user_can( 'edit_posts' );
			},
		)
	);
}
add_action( 'init', 'kabar_register_meta' );
